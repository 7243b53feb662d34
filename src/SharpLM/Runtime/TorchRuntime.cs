using TorchSharp;

namespace SharpLM.Runtime;

/// <summary>Process-wide TorchSharp settings: device choice and thread count.</summary>
public static class TorchRuntime
{
    /// <summary>
    /// Parses "cpu", "cuda" or "cuda:N". CUDA needs a CUDA libtorch package in place of libtorch-cpu-linux-x64;
    /// the code path is the same.
    /// </summary>
    public static torch.Device ParseDevice(string name)
    {
        string n = name.Trim().ToLowerInvariant();
        if (n == "cpu") return torch.CPU;
        if (n == "cuda" || n.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new InvalidInputException($"device '{name}': CUDA is not available (this build references the CPU libtorch package; reference a CUDA libtorch package to use a GPU)");
            return new torch.Device(n);
        }
        throw new InvalidInputException($"device '{name}': expected cpu, cuda or cuda:N");
    }

    /// <summary>Sets intra-op threads; 0 means all cores.</summary>
    public static int SetThreads(int threads)
    {
        int n = threads > 0 ? threads : Environment.ProcessorCount;
        torch.set_num_threads(n);
        return n;
    }
}
