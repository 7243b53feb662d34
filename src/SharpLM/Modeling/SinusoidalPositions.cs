using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// Fixed sinusoidal position encodings (Vaswani et al. 2017, §3.5): PE(p, 2i) = sin(p / 10000^(2i/d)),
/// PE(p, 2i+1) = cos(p / 10000^(2i/d)). Computed per pass, so nothing is stored in the checkpoint.
/// </summary>
public static class SinusoidalPositions
{
    /// <summary>Encodings [T, d] for absolute positions start … start+T−1.</summary>
    public static Tensor Table(long start, long length, int dim, Device device)
    {
        Tensor pos = arange(start, start + length, dtype: ScalarType.Float64, device: device).unsqueeze(1);
        Tensor invFreq = exp(arange(0, dim, 2, dtype: ScalarType.Float64, device: device) * (-Math.Log(10000.0) / dim));
        Tensor angles = pos * invFreq;                                   // [T, d/2]
        return stack(new[] { angles.sin(), angles.cos() }, dim: -1)      // [T, d/2, 2]: interleaves sin and cos
            .reshape(length, dim).to(ScalarType.Float32);
    }
}
