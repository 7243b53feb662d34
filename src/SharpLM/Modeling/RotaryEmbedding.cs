using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// Rotary position embedding (Su et al. 2021, RoFormer): each channel pair of q and k is rotated by an angle
/// p · base^(−2i/D) for absolute position p, so q·k depends only on the offset between the two positions. Pairs
/// are channels (i, i + D/2), the GPT-NeoX / LLaMA (Hugging Face) layout. Keys are rotated before they enter the
/// KV cache, at their absolute positions, so cached keys never need rotating again.
/// </summary>
public static class RotaryEmbedding
{
    /// <summary>cos and sin of the rotation angles, [T, D] each, for absolute positions start … start+T−1.</summary>
    public static (Tensor Cos, Tensor Sin) Angles(long start, long length, ModelConfig config, Device device)
    {
        Tensor pos = arange(start, start + length, dtype: ScalarType.Float64, device: device).unsqueeze(1);
        Tensor invFreq = tensor(InverseFrequencies(config), dtype: ScalarType.Float64, device: device);
        Tensor angles = pos * invFreq;                                    // [T, D/2]
        angles = cat(new[] { angles, angles }, dim: -1);                  // [T, D]: pair i and i + D/2 share an angle
        return (angles.cos().to(ScalarType.Float32), angles.sin().to(ScalarType.Float32));
    }

    /// <summary>base^(−2i/D) for each channel pair i of a head, stretched by the config's <see cref="RopeScaling"/>.</summary>
    public static double[] InverseFrequencies(ModelConfig config)
    {
        int d = config.HeadDim;
        return Enumerable.Range(0, d / 2).Select(i =>
        {
            double f = Math.Pow(config.RopeBase, -2.0 * i / d);
            return config.RopeScaling is { } scaling ? scaling.Scale(f) : f;
        }).ToArray();
    }

    /// <summary>Rotates <paramref name="x"/> ([B, H, T, D]) by the angles of its T positions.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        Tensor rotated = cat(new[] { -x.narrow(-1, half, half), x.narrow(-1, 0, half) }, dim: -1);
        return x * cos.to(x.dtype) + rotated * sin.to(x.dtype);
    }
}
