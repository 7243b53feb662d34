using static TorchSharp.torch;

namespace SharpLM.Modeling.Architectures;

/// <summary>
/// The three attention patterns of the survey's figure as boolean masks (true = the query row may attend to the key
/// column), for queries at absolute positions start … start+T−1 over keys 0 … start+T−1 where a KV cache is
/// involved. These are the patterns; <see cref="AttentionInputs"/> folds them together with position biases and
/// sliding windows.
/// </summary>
public static class AttentionMasks
{
    /// <summary>Causal decoder: query i sees keys j ≤ i. [T, start+T].</summary>
    public static Tensor Causal(long length, long start = 0, Device? device = null) =>
        AttentionInputs.Distance(start, length, device ?? CPU) >= 0;

    /// <summary>
    /// Prefix decoder: keys j &lt; <paramref name="prefix"/> are visible to every query (so the prefix is
    /// bidirectional), later keys causally. prefix 0 is the causal mask. [T, start+T].
    /// </summary>
    public static Tensor Prefix(long length, long prefix, long start = 0, Device? device = null) =>
        Causal(length, start, device).logical_or(arange(0, start + length, dtype: ScalarType.Int64, device: device ?? CPU).unsqueeze(0) < prefix);

    /// <summary>
    /// One prefix length per row: [B, 1, T, T] for SDPA (broadcast over heads); row b sees its first
    /// <paramref name="prefixes"/>[b] keys from every query.
    /// </summary>
    public static Tensor Prefix(long length, Tensor prefixes)
    {
        Tensor keys = arange(0, length, dtype: ScalarType.Int64, device: prefixes.device).view(1, 1, length);
        Tensor inPrefix = keys < prefixes.view(-1, 1, 1);                                       // [B, 1, T]
        return Causal(length, 0, prefixes.device).unsqueeze(0).logical_or(inPrefix).unsqueeze(1); // [B, 1, T, T]
    }

    /// <summary>Encoder self-attention: every position sees every position. [T, T].</summary>
    public static Tensor Bidirectional(long length, Device? device = null) =>
        ones(new[] { length, length }, ScalarType.Bool, device ?? CPU);

    /// <summary>
    /// Decoder-to-encoder cross-attention: every decoder query sees the whole encoder output (no padding, since
    /// every span-corrupted row has the same length), whatever the decoder's causal mask. [T_dec, T_enc].
    /// </summary>
    public static Tensor Cross(long decoderLength, long encoderLength, Device? device = null) =>
        ones(new[] { decoderLength, encoderLength }, ScalarType.Bool, device ?? CPU);
}
