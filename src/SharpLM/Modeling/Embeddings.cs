using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling;

/// <summary>
/// What every Transformer stack does around its blocks, written once for <see cref="Gpt"/>, both stacks of an
/// <see cref="Architectures.EncoderDecoder"/> and the pipeline stages that split a GPT: absolute positions added to
/// the token embeddings, the per-head position bias ALiBi and T5 put into attention, and the output head. The
/// embedding tables stay fields of the model (their state-dict names, "wte.weight" and "wpe.weight", are the
/// checkpoint format); these functions only say how they are used.
/// </summary>
internal static class Embeddings
{
    /// <summary>The learned position table [block_size, n_embd] when position_encoding is "learned"; null otherwise.</summary>
    public static Embedding? LearnedPositions(ModelConfig config) =>
        config.PositionEncoding == "learned" ? nn.Embedding(config.BlockSize, config.NEmbd) : null;

    /// <summary>
    /// <paramref name="x"/> [B, T, C] plus the absolute position of each token: the learned table
    /// <paramref name="wpe"/>, or sinusoids when position_encoding is "sinusoidal" (other encodings act inside
    /// attention and leave x as it is). Positions are start … start+T−1, or <paramref name="positions"/> [B, T]
    /// (packed rows), whose largest value is below <paramref name="span"/>.
    /// </summary>
    public static Tensor AddPositions(Tensor x, Embedding? wpe, ModelConfig config, long start, long t, Tensor? positions = null, long span = 0)
    {
        Device device = x.device;
        if (wpe is not null) return x + wpe.forward(positions ?? arange(start, start + t, dtype: ScalarType.Int64, device: device));
        if (config.PositionEncoding != "sinusoidal") return x;
        // Scaled to the token embeddings' init_std: the paper multiplies its token embeddings by √d_model so both
        // enter at the same scale; at full size the fixed table would drown GPT-2's N(0, 0.02) token embeddings.
        Tensor table = SinusoidalPositions.Table(positions is null ? start : 0, positions is null ? t : span, config.NEmbd, device);
        if (positions is not null) table = table.index_select(0, positions.reshape(-1)).view(positions.shape[0], t, config.NEmbd);
        return x + (table * config.InitStd).to(x.dtype);
    }

    /// <summary>
    /// ALiBi's or T5's attention bias [1, H, T, start+T] for queries start … start+T−1 (T5 from the stack's
    /// <paramref name="relative"/> table); null for the other encodings. Both depend on query − key only, which
    /// packing leaves unchanged within a segment.
    /// </summary>
    public static Tensor? AttentionBias(ModelConfig config, RelativePositionBias? relative, long start, long t, Device device) => config.PositionEncoding switch
    {
        "alibi" => AlibiBias.Bias(config.NHead, start, t, device),
        "t5" => relative!.Bias(start, t, device),
        _ => null,
    };

    /// <summary>Logits from final hidden states: the untied <paramref name="head"/>, or the token embedding <paramref name="wte"/> itself when tied.</summary>
    public static Tensor Logits(Tensor hidden, Embedding wte, Linear? head) =>
        head is null ? F.linear(hidden, wte.weight!) : LinearDeltas.Forward(head, hidden);
}
