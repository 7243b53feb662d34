using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// Activation checkpointing (Chen et al. 2016, "Training deep nets with sublinear memory cost"; PyTorch's
/// torch.utils.checkpoint): a block runs forward without recording its graph, so only its input is kept; backward
/// runs it again with the graph on and back-propagates through that. Memory for activations drops from every
/// intermediate of every block to one tensor per block, for one more forward pass per step. TorchSharp has no
/// checkpoint utility, so this is the reentrant form as a custom autograd function: the recomputed graph's backward
/// runs inside this node's backward, accumulating the block's parameter gradients as the plain graph would, and the
/// node returns the input's gradient. The recomputation must see the same randomness: callers use it only without
/// dropout (the trainer refuses the combination).
/// </summary>
public sealed class ActivationCheckpoint : autograd.SingleTensorFunction<ActivationCheckpoint>
{
    /// <inheritdoc/>
    public override string Name => nameof(ActivationCheckpoint);

    /// <summary><paramref name="block"/>(<paramref name="x"/>), keeping only <paramref name="x"/> for backward.</summary>
    public static Tensor Run(Tensor x, Func<Tensor, Tensor> block) => apply(x, block);

    /// <inheritdoc/>
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var block = (Func<Tensor, Tensor>)vars[1];
        ctx.save_for_backward([x]);
        ctx.save_data("block", block);
        // The function's forward runs with gradient recording off. Its intermediates are freed here, not at the end
        // of the caller's step: a TorchSharp tensor's memory goes when its handle is disposed, graph or no graph.
        using var scope = NewDisposeScope();
        return block(x).MoveToOuterDisposeScope();
    }

    /// <summary>Blocks recomputed so far in this process (for tests: the recomputation really happens).</summary>
    internal static long Recomputations;

    /// <inheritdoc/>
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        Interlocked.Increment(ref Recomputations);
        // The recomputed graph lives only for this block's backward: disposing its handles frees it before the
        // next block is recomputed (held until the step's end, every block's graph would be alive at once).
        using var scope = NewDisposeScope();
        var x = ctx.get_saved_variables()[0].detach().requires_grad_(true);
        var block = (Func<Tensor, Tensor>)ctx.get_data("block");
        using (enable_grad())
        {
            Tensor y = block(x);
            y.backward([gradOutput]);
        }
        return [x.grad!.MoveToOuterDisposeScope(), null!];
    }
}
