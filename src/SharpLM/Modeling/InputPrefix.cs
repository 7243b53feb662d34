using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// Embeddings a <see cref="Gpt"/> prepends to its token embeddings (prompt tuning's soft prompt). They take the
/// first positions of the context, so the real tokens' positions shift by <see cref="Length"/> and the context
/// left for tokens shrinks by as much.
/// </summary>
public interface IInputPrefix
{
    /// <summary>Number of prefix embeddings (positions the soft prompt takes).</summary>
    int Length { get; }

    /// <summary>The prefix embeddings, [Length, n_embd].</summary>
    Tensor Embeddings();
}

/// <summary>
/// Keys and values a <see cref="Gpt"/> places before every layer's own (prefix tuning). They have no position:
/// RoPE does not rotate them, ALiBi and T5 add no bias to them and they take no place in the context or the KV
/// cache; every query may attend to all of them.
/// </summary>
public interface IKeyValuePrefix
{
    /// <summary>Number of prefix keys and values per layer.</summary>
    int Length { get; }

    /// <summary>Per layer, keys and values [1, n_kv_head, Length, head_dim].</summary>
    (Tensor[] Keys, Tensor[] Values) Compute();
}
