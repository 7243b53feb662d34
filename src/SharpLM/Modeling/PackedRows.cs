using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// Packed sequences: several short examples concatenated into one row of a window, as instruction tuning does to
/// avoid padding. A segment is a run of equal segment ids (a new segment starts wherever the id changes, so ids
/// need not be distinct between rows or increasing). Each token attends causally within its own segment only, and
/// positions restart at 0 at every segment start, so a segment sees exactly what it would see alone.
/// </summary>
public static class PackedRows
{
    /// <summary>
    /// Per-token positions [B, T] (int64) and the block-diagonal causal mask [B, 1, T, T] (true = may attend) for
    /// <paramref name="segmentIds"/> [B, T].
    /// </summary>
    public static (Tensor Positions, Tensor Visible) Layout(Tensor segmentIds)
    {
        if (segmentIds.dim() != 2) throw new ArgumentException($"segment ids must be [B, T], not [{string.Join(", ", segmentIds.shape)}]");
        long b = segmentIds.shape[0], t = segmentIds.shape[1];
        long[] ids = segmentIds.to(ScalarType.Int64).cpu().data<long>().ToArray();
        var run = new long[b * t];
        var position = new long[b * t];
        for (long r = 0; r < b; r++)
        {
            long segment = 0, start = 0;
            for (long i = 0; i < t; i++)
            {
                long at = r * t + i;
                if (i > 0 && ids[at] != ids[at - 1]) { segment++; start = i; }
                run[at] = segment;
                position[at] = i - start;
            }
        }
        Device device = segmentIds.device;
        Tensor runs = tensor(run, new[] { b, t }, device: device);
        Tensor sameSegment = runs.unsqueeze(2).eq(runs.unsqueeze(1));                       // [B, T, T]
        Tensor causal = ones(new[] { t, t }, ScalarType.Bool, device).tril();
        return (tensor(position, new[] { b, t }, device: device), sameSegment.logical_and(causal).unsqueeze(1));
    }
}
