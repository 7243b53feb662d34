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
/// <para>
/// Each group starts at a multiple of <see cref="Alignment"/> values and the buffers end on a multiple of
/// <see cref="NormBlock"/> × shards (zeros in between). That layout is what lets ZeRO's shards update exactly as one
/// process does: libtorch's element-wise kernels run 32 values at a time with FMA and finish a slice's remainder
/// with scalar code (no FMA), so a value's rounding depends on its position from its slice's start; with groups and
/// shard boundaries on multiples of 64 every value lands in the same place either way. The gradient norm is summed
/// in fixed blocks (<see cref="GradientNormSquared"/>) for the same reason: a shard holds whole blocks.
/// </para>
/// </summary>
public sealed class ContiguousParameters : IDisposable
{
    /// <summary>Every group starts at a multiple of this many values.</summary>
    public const int Alignment = 64;
    /// <summary>Values per block of the gradient norm's fixed-order sum.</summary>
    public const int NormBlock = 1024;

    ContiguousParameters(Tensor data, Tensor grad, IReadOnlyList<(long Offset, long Length)> groups)
    {
        Data = data;
        Grad = grad;
        Groups = groups;
    }

    /// <summary>Trainable values (the groups' lengths summed; the buffers also hold alignment zeros).</summary>
    public long Count => Groups.Sum(g => g.Length);

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
    /// <param name="model">The model whose parameters move.</param>
    /// <param name="groups">The trainable parameters, partitioned.</param>
    /// <param name="shards">The buffers' length is a multiple of <see cref="NormBlock"/> × this, so they split into
    /// this many equal shards of whole norm blocks (ZeRO).</param>
    public static ContiguousParameters Create(nn.Module model, IReadOnlyList<IReadOnlyList<Parameter>> groups, int shards = 1)
    {
        var order = groups.SelectMany(g => g).ToList();
        if (order.Count == 0) throw new ArgumentException("no trainable parameters");
        var index = order.Select((p, i) => (p.Handle, i)).ToDictionary(x => x.Handle, x => x.i);
        if (index.Count != order.Count) throw new ArgumentException("a parameter appears in two groups");
        var own = model.parameters().Select(p => p.Handle).ToHashSet();
        if (order.Any(p => !own.Contains(p.Handle))) throw new ArgumentException("a grouped parameter was not found in the model");
        var groupLengths = groups.Select(g => g.Sum(p => p.numel())).ToList();
        var slices = new List<(long, long)>();
        long at = 0;
        foreach (long len in groupLengths)
        {
            slices.Add((at, len));
            at = RoundUp(at + len, Alignment);
        }
        long total = RoundUp(Math.Max(at, 1), (long)NormBlock * shards);
        var first = order[0];
        var data = zeros(total, first.dtype, first.device).DetachFromDisposeScope();
        var grad = zeros(total, first.dtype, first.device).DetachFromDisposeScope();
        using (no_grad())
        {
            int g = 0;
            long offset = 0, groupEnd = 0;
            foreach (var p in order)
            {
                while (offset >= groupEnd && g < slices.Count) // entering the next group: jump to its aligned start
                {
                    offset = slices[g].Item1;
                    groupEnd = offset + slices[g].Item2;
                    g++;
                }
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
        return new ContiguousParameters(data, grad, slices);
    }

    static long RoundUp(long value, long multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>Zeroes every gradient in one operation (gradient views stay in place).</summary>
    public void ZeroGrad() => Grad.zero_();

    /// <summary>Scales gradients so their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before.</summary>
    public double ClipGradNorm(double maxNorm)
    {
        double norm = Math.Sqrt(GradientNormSquared(Grad, 0, Grad.numel()));
        double coefficient = ClipCoefficient(norm, maxNorm);
        if (coefficient < 1) Grad.mul_(coefficient);
        return norm;
    }

    /// <summary>The factor that brings a gradient of norm <paramref name="norm"/> to at most <paramref name="maxNorm"/> (1: leave it).</summary>
    public static double ClipCoefficient(double norm, double maxNorm) => Math.Min(1, maxNorm / (norm + 1e-6));

    /// <summary>
    /// Σ g² over <paramref name="count"/> values of <paramref name="flat"/> from <paramref name="start"/>, summed in one
    /// fixed order: squares in float64 (exact for float32 values) added 4 lanes at a time within each
    /// <see cref="NormBlock"/>, then block by block. Any process holding whole blocks computes the same per-block sums,
    /// so a data-parallel or ZeRO run's norm is bit-identical to one process's (<see cref="BlockSquares"/>).
    /// </summary>
    public static double GradientNormSquared(Tensor flat, long start, long count)
    {
        if (flat.device.type != DeviceType.CPU || flat.dtype != ScalarType.Float32)
        {
            using var squares = flat.narrow(0, start, count).to(ScalarType.Float64).square().sum();
            return squares.item<double>();
        }
        var blocks = new double[(count + NormBlock - 1) / NormBlock];
        BlockSquares(flat, start, count, blocks);
        double total = 0;
        foreach (double b in blocks) total += b;
        return total;
    }

    /// <summary>Per-<see cref="NormBlock"/> sums of squares of a contiguous float32 CPU tensor's values
    /// [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>), into <paramref name="into"/>.</summary>
    public static unsafe void BlockSquares(Tensor flat, long start, long count, Span<double> into)
    {
        float* p = Runtime.TensorMemory.Pointer(flat) + start;
        for (long b = 0; b * NormBlock < count; b++)
        {
            long from = b * NormBlock, to = Math.Min(count, from + NormBlock);
            double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            long i = from;
            for (; i + 4 <= to; i += 4)
            {
                double x0 = p[i], x1 = p[i + 1], x2 = p[i + 2], x3 = p[i + 3];
                a0 += x0 * x0;
                a1 += x1 * x1;
                a2 += x2 * x2;
                a3 += x3 * x3;
            }
            for (; i < to; i++) a0 += (double)p[i] * p[i];
            into[(int)b] = (a0 + a1) + (a2 + a3);
        }
    }

    /// <summary>Frees both buffers; the parameters are views of them, so the model must not be used afterwards.</summary>
    public void Dispose()
    {
        Data.Dispose();
        Grad.Dispose();
    }
}
