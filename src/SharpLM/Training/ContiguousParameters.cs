using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Training;

/// <summary>
/// Moves every parameter of a model into one contiguous buffer, and every gradient into a second one, so that
/// the optimizer, gradient clipping and zeroing each touch one tensor instead of one per parameter (as
/// Megatron's and Apex's contiguous grad buffers do). Parameters become views of the buffer; autograd
/// accumulates into the pre-set gradient views in place, so the buffers stay in sync without copies.
/// Parameters are ordered by group so each group is one slice.
/// </summary>
public sealed class ContiguousParameters : IDisposable
{
    ContiguousParameters(Tensor data, Tensor grad, IReadOnlyList<(long Offset, long Length)> groups)
    {
        Data = data;
        Grad = grad;
        Groups = groups;
    }

    /// <summary>All parameter values, flattened.</summary>
    public Tensor Data { get; }
    /// <summary>All gradients, flattened; zero it (one op) instead of zeroing parameters one by one.</summary>
    public Tensor Grad { get; }
    /// <summary>Slice of <see cref="Data"/>/<see cref="Grad"/> per group, in the order the groups were given.</summary>
    public IReadOnlyList<(long Offset, long Length)> Groups { get; }

    /// <summary>
    /// Re-homes the parameters of <paramref name="model"/> (already on its device) into contiguous buffers.
    /// <paramref name="groups"/> partitions the trainable parameters; frozen ones are left alone.
    /// </summary>
    public static ContiguousParameters Create(nn.Module model, IReadOnlyList<IReadOnlyList<Parameter>> groups)
    {
        var order = groups.SelectMany(g => g).ToList();
        if (order.Count == 0) throw new ArgumentException("no trainable parameters");
        var index = order.Select((p, i) => (p.Handle, i)).ToDictionary(x => x.Handle, x => x.i);
        if (index.Count != order.Count) throw new ArgumentException("a parameter appears in two groups");
        var own = model.parameters().Select(p => p.Handle).ToHashSet();
        if (order.Any(p => !own.Contains(p.Handle))) throw new ArgumentException("a grouped parameter was not found in the model");
        long total = order.Sum(p => p.numel());
        var first = order[0];
        var data = zeros(total, first.dtype, first.device).DetachFromDisposeScope();
        var grad = zeros(total, first.dtype, first.device).DetachFromDisposeScope();
        var groupLengths = groups.Select(g => g.Sum(p => p.numel())).ToList();
        using (no_grad())
        {
            long offset = 0;
            foreach (var p in order)
            {
                long n = p.numel();
                var view = data.narrow(0, offset, n).view(p.shape);
                view.copy_(p);
                // set_ re-points the parameter's own tensor at the view, so every holder of it (a module property,
                // an LSTM's flat weight list, a tied head) sees the buffer: no module needs a settable property.
                p.set_(view);
                p.grad = grad.narrow(0, offset, n).view(p.shape);
                offset += n;
            }
        }

        var slices = new List<(long, long)>();
        long at = 0;
        foreach (long len in groupLengths)
        {
            slices.Add((at, len));
            at += len;
        }
        return new ContiguousParameters(data, grad, slices);
    }

    /// <summary>Zeroes every gradient in one operation (gradient views stay in place).</summary>
    public void ZeroGrad() => Grad.zero_();

    /// <summary>Scales gradients so their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before.</summary>
    public double ClipGradNorm(double maxNorm)
    {
        using var norm = Grad.norm();
        double value = norm.item<float>();
        double coefficient = maxNorm / (value + 1e-6);
        if (coefficient < 1) Grad.mul_(coefficient);
        return value;
    }

    /// <summary>Frees both buffers; the parameters are views of them, so the model must not be used afterwards.</summary>
    public void Dispose()
    {
        Data.Dispose();
        Grad.Dispose();
    }
}
