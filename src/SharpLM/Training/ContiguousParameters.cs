using System.Reflection;
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
        long total = order.Sum(p => p.numel());
        var first = order[0];
        var data = zeros(total, first.dtype, first.device).DetachFromDisposeScope();
        var grad = zeros(total, first.dtype, first.device).DetachFromDisposeScope();
        // Sizes first: re-homing disposes the replaced parameters.
        var groupLengths = groups.Select(g => g.Sum(p => p.numel())).ToList();
        var offsets = new long[order.Count];
        for (int i = 1; i < order.Count; i++) offsets[i] = offsets[i - 1] + order[i - 1].numel();

        var rehomed = new Parameter[order.Count];
        using (no_grad())
        {
            foreach (var (_, module) in model.named_modules())
            {
                foreach (var (name, p) in module.named_parameters(recurse: false).ToList())
                {
                    if (!index.TryGetValue(p.Handle, out int i)) continue;
                    long n = p.numel();
                    var view = data.narrow(0, offsets[i], n).view(p.shape);
                    view.copy_(p);
                    var replacement = new Parameter(view, requires_grad: true);
                    replacement.grad = grad.narrow(0, offsets[i], n).view(p.shape);
                    Property(module, name).SetValue(module, replacement);
                    rehomed[i] = replacement;
                }
            }
        }
        if (rehomed.Any(p => p is null)) throw new ArgumentException("a grouped parameter was not found in the model");

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

    public void Dispose()
    {
        Data.Dispose();
        Grad.Dispose();
    }

    static PropertyInfo Property(nn.Module module, string name) =>
        module.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.Instance) is { CanWrite: true } p && p.PropertyType == typeof(Parameter)
            ? p
            : throw new NotSupportedException($"{module.GetType().Name}.{name}: no settable Parameter property to re-home");
}
