using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling;

/// <summary>
/// bf16 mixed precision without an autocast (TorchSharp has none): the weights, their gradients and the optimizer
/// state stay float32 (the "master" copy), and only the products that dominate the cost — every Linear layer — run
/// in bf16. Each Linear gets a <see cref="ComputePrecision"/> child, and <see cref="LinearDeltas.Forward"/> then casts
/// the input, weight and bias to bf16, multiplies, and returns float32; autograd casts the gradients back through the
/// same casts, so the update is float32. Everything else stays float32: embeddings, norms, attention's softmax (its
/// inputs come out of the projections in float32), the residual stream, the loss — torch.autocast's split for CPU
/// bf16 (matmuls low, reductions and normalisation high). The child holds no tensors, so checkpoints do not change.
/// </summary>
public static class MixedPrecision
{
    /// <summary>The settings of training.precision: bf16-true keeps weights, gradients and AdamW state in bf16 too
    /// (litgpt's name), scoring the loss in float32 and writing float32 checkpoints.</summary>
    public static readonly IReadOnlyList<string> Names = ["fp32", "bf16-mixed", "bf16-true"];

    /// <summary>Makes every Linear layer of <paramref name="model"/> compute in <paramref name="dtype"/> (idempotent).</summary>
    public static void Apply(nn.Module model, ScalarType dtype = ScalarType.BFloat16)
    {
        // named_modules() leaves out the module itself, which may be a Linear.
        foreach (var module in model.named_modules().Select(m => m.module).Prepend(model).Distinct().ToList())
            if (module is Linear linear && !linear.children().OfType<ComputePrecision>().Any())
                linear.register_module("compute_precision", new ComputePrecision(dtype));
    }

    /// <summary>Whether <see cref="Apply"/> was called on <paramref name="model"/>.</summary>
    public static bool IsApplied(nn.Module model) => model.modules().OfType<ComputePrecision>().Any();
}

/// <summary>Marks its parent Linear to compute in <see cref="Dtype"/> (<see cref="MixedPrecision"/>).</summary>
public sealed class ComputePrecision : nn.Module
{
    /// <summary>A marker for <paramref name="dtype"/>.</summary>
    public ComputePrecision(ScalarType dtype) : base(nameof(ComputePrecision)) => Dtype = dtype;

    /// <summary>The dtype of the product.</summary>
    public ScalarType Dtype { get; }

    /// <summary>x·Wᵀ + b with all three cast to <see cref="Dtype"/>, returned in x's dtype.</summary>
    public Tensor Forward(Linear layer, Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor y = F.linear(x.to(Dtype), layer.weight!.to(Dtype), layer.bias?.to(Dtype));
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }
}
