using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Training;

/// <summary>
/// Measures this machine's fp32 matmul throughput right now (1024³, best of several), the denominator of model
/// FLOPs utilisation. Measured rather than looked up because shared machines and thread counts vary.
/// </summary>
public static class MatmulPeak
{
    public static double MeasureGflops(Device device, int size = 1024, int repeats = 6)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Constant inputs: timing does not depend on values, and the global RNG must stay untouched (resume).
        var a = full(size, size, 0.5f, device: device);
        var b = full(size, size, 0.25f, device: device);
        a.matmul(b); // first call pays for allocation and kernel selection
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            var c = a.matmul(b);
            c.sum().item<float>(); // forces completion on asynchronous devices
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return 2.0 * size * size * size / best / 1e9;
    }
}
