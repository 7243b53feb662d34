using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Training;

/// <summary>
/// Measures this machine's fp32 matmul throughput right now, the denominator of model FLOPs utilisation.
/// Measured rather than looked up because shared machines and thread counts vary. Two ways of using the cores
/// are timed — one matmul spread over all threads, and one single-threaded matmul per thread side by side (how
/// batch shards run) — and the better one counts, each as the best of several runs, since a busy neighbour
/// only ever makes a run slower.
/// </summary>
public static class MatmulPeak
{
    /// <summary>Peak matmul throughput in GFLOP/s, from square fp32 matmuls of side <paramref name="size"/>. Leaves
    /// libtorch using <paramref name="threads"/> threads.</summary>
    /// <param name="device">The device to measure.</param>
    /// <param name="threads">Threads the run may use.</param>
    /// <param name="size">Side of the square matrices multiplied.</param>
    /// <param name="repeats">Timed runs per way, after one warm-up; the fastest counts.</param>
    public static double MeasureGflops(Device device, int threads, int size = 1536, int repeats = 5)
    {
        double shared = Throughput(device, size, repeats, streams: 1, threadsPerStream: threads);
        if (threads < 2 || device.type != DeviceType.CPU) return shared;
        double sideBySide = Throughput(device, size, repeats, streams: threads, threadsPerStream: 1);
        torch.set_num_threads(threads);
        return Math.Max(shared, sideBySide);
    }

    static double Throughput(Device device, int size, int repeats, int streams, int threadsPerStream)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Constant inputs: timing does not depend on values, and the global RNG must stay untouched (resume).
        var a = Enumerable.Range(0, streams).Select(_ => full(size, size, 0.5f, device: device)).ToArray();
        var b = Enumerable.Range(0, streams).Select(_ => full(size, size, 0.25f, device: device)).ToArray();
        double best = double.MaxValue;
        for (int r = 0; r <= repeats; r++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, streams, new ParallelOptions { MaxDegreeOfParallelism = streams }, i =>
            {
                torch.set_num_threads(threadsPerStream);
                using var inner = NewDisposeScope();
                using var _ = no_grad();
                var c = a[i].matmul(b[i]);
                if (device.type != DeviceType.CPU) c[0, 0].item<float>(); // waits for asynchronous devices
            });
            if (r > 0) best = Math.Min(best, sw.Elapsed.TotalSeconds); // run 0 warms up kernel choice
        }
        return streams * 2.0 * size * size * size / best / 1e9;
    }
}
