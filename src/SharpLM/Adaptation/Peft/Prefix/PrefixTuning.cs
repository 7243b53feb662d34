using SharpLM.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft.Prefix;

/// <summary>
/// Prefix tuning (Li &amp; Liang 2021) applied to a <see cref="Gpt"/>: P learned keys and values in front of every
/// layer's own. Every query attends to the whole prefix and then causally to the sequence (with a KV cache, to
/// the prefix and everything cached).
/// <para>Position encoding: prefix keys carry no position, the same way for every encoding — RoPE does not rotate
/// them, ALiBi and T5 add no bias to their scores (as if at distance 0), and learned or sinusoidal embeddings never
/// reach them since they are keys and values, not inputs. So the tokens keep positions 0, 1, … as in the base,
/// the context window keeps its full length, and the prefix stays out of the KV cache (it is constant), so
/// cached generation equals uncached. With GQA the prefix has n_kv_head heads, shared like the cache's.</para>
/// <para>Training may use the MLP re-parameterisation (<see cref="PrefixEncoder"/>); <see cref="Collapse"/>
/// replaces it by the plain tensors (<see cref="PrefixTable"/>) it produces, and a saved adapter holds those.</para>
/// </summary>
public sealed class PrefixTuning : PeftMethod
{
    PrefixTuning(Gpt model, PrefixOptions options, string? baseCheckpoint) : base(model, baseCheckpoint)
    {
        Options = options;
        Parameter first = model.parameters().First();
        if (options.Reparameterize)
        {
            var encoder = new PrefixEncoder(model.Config, options.Length, options.HiddenSize, first.device, first.dtype);
            model.AttachKeyValuePrefix(encoder);
        }
        else model.AttachKeyValuePrefix(PrefixTable.Random(model.Config, options.Length, first.device, first.dtype));
    }

    /// <summary>Adds prefixes to <paramref name="model"/> (freezing its weights) and returns the method.</summary>
    public static PrefixTuning Apply(Gpt model, PrefixOptions options, string? baseCheckpoint = null) =>
        new(model, options.Validate(), baseCheckpoint);

    /// <inheritdoc/>
    public override string Method => PeftMethods.Prefix.Name;

    /// <summary>The options in force: <see cref="PrefixOptions.Reparameterize"/> turns false on <see cref="Collapse"/>.</summary>
    public PrefixOptions Options { get; private set; }

    bool IsReparameterized => Model.named_parameters().Any(p => p.name == "prefix_tuning.embedding");

    /// <summary>Replaces the re-parameterisation by the plain prefix it produces (same logits); nothing to do if plain.</summary>
    public void Collapse()
    {
        if (!IsReparameterized) return;
        var encoder = (PrefixEncoder)Model.named_children().First(c => c.name == "prefix_tuning").module;
        var table = encoder.Collapse();
        Model.ReplaceKeyValuePrefix(table);
        encoder.Dispose();
        Options = Options with { Reparameterize = false };
    }

    /// <summary>The plain prefix [n_layer, 2, n_kv_head, P, head_dim] in force now (computed from the MLP while re-parameterised).</summary>
    public Tensor PrefixValues()
    {
        using var _ = no_grad();
        var module = Model.named_children().First(c => c.name == "prefix_tuning").module;
        return module is PrefixEncoder encoder ? encoder.Table().contiguous() : ((PrefixTable)module).Values.detach().clone();
    }

    /// <summary>The options block, always with reparameterize false: the saved adapter holds the collapsed prefix.</summary>
    protected override PeftConfig Describe(PeftConfig common) => common with { Prefix = Options with { Reparameterize = false } };

    /// <summary>Always the plain prefix, as "prefix_tuning.prefix".</summary>
    protected override IReadOnlyList<(string Name, Tensor Value)> TensorsToSave() => new[] { ("prefix_tuning.prefix", PrefixValues()) };

    /// <summary>The trainable parameters: a loaded adapter is applied plain (its config says so), so this is
    /// "prefix_tuning.prefix", what <see cref="TensorsToSave"/> wrote.</summary>
    protected override IReadOnlyList<(string Name, Tensor Value)> TensorsToLoad() =>
        TrainableParameters.Select(p => (p.Name, (Tensor)p.Parameter)).ToList();
}
