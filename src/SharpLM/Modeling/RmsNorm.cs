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
    readonly Parameter weight;
    readonly double eps;

    public RmsNorm(int size, double eps) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(size));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x * rsqrt(x.square().mean(new long[] { -1 }, keepdim: true) + eps) * weight;
}
