using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// RMSNorm (Zhang &amp; Sennrich 2019): x / sqrt(mean(x²) + eps) · g. Drops LayerNorm's mean subtraction and bias,
/// which the paper found unnecessary for the re-scaling invariance that helps training.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    Parameter gain;
    readonly double eps;

    /// <summary>A norm over the last dimension of width <paramref name="size"/>, gain initialised to 1.</summary>
    /// <param name="size">Width of the last dimension, the length of the gain vector.</param>
    /// <param name="eps">Added to the mean square before the square root, for numerical stability.</param>
    public RmsNorm(int size, double eps) : base(nameof(RmsNorm))
    {
        gain = new Parameter(ones(size));
        this.eps = eps;
        register_parameter(nameof(weight), gain);
    }

    /// <summary>The gain g. Settable like TorchSharp's own norms, so training can re-home it into a contiguous buffer.</summary>
    public Parameter weight
    {
        get => gain;
        set
        {
            if (value.Handle == gain.Handle) return;
            gain.Dispose();
            gain = value;
            ConditionallyRegisterParameter(nameof(weight), gain);
        }
    }

    /// <summary>x / sqrt(mean(x²) + eps) · g over the last dimension.</summary>
    public override Tensor forward(Tensor x) => x * rsqrt(x.square().mean(new long[] { -1 }, keepdim: true) + eps) * gain;
}
