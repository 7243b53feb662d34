using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// ALiBi (Press et al. 2022, "Train Short, Test Long"): no position embedding; each head adds −m · (i − j) to the
/// score of query i for key j, with head slopes m forming a geometric sequence. Uses absolute positions, so a
/// query continuing a KV cache gets the same biases as in a full pass.
/// </summary>
public static class AlibiBias
{
    /// <summary>
    /// Slopes 2^(−8/n), 2^(−16/n), … for n heads; for n not a power of two, the paper's rule: the slopes of the
    /// nearest lower power of two, then every other slope of twice that many heads.
    /// </summary>
    public static double[] Slopes(int nHead)
    {
        static double[] PowerOfTwo(int n) => Enumerable.Range(1, n).Select(i => Math.Pow(2, -8.0 * i / n)).ToArray();
        int lower = 1 << (int)Math.Floor(Math.Log2(nHead));
        if (lower == nHead) return PowerOfTwo(nHead);
        return PowerOfTwo(lower).Concat(PowerOfTwo(2 * lower).Where((_, i) => i % 2 == 0).Take(nHead - lower)).ToArray();
    }

    /// <summary>
    /// Biases [1, H, T, start+T] for queries at positions start … start+T−1 over keys 0 … start+T−1. The distance
    /// is |i − j|: a causal mask hides keys after the query anyway, and where attention is bidirectional (a
    /// prefix decoder's prefix, an encoder) a later key is penalised like an equally distant earlier one instead
    /// of being favoured.
    /// </summary>
    public static Tensor Bias(int nHead, long start, long length, Device device)
    {
        Tensor distance = AttentionInputs.Distance(start, length, device).abs().to(ScalarType.Float32);   // [T, start+T]
        Tensor slopes = tensor(Slopes(nHead), dtype: ScalarType.Float32, device: device).view(1, nHead, 1, 1);
        return -slopes * distance;
    }
}
