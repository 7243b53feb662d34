using System.Diagnostics;
using System.Globalization;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Training;
using static TorchSharp.torch;
using Functional = TorchSharp.torch.nn.functional;

/// <summary>
/// `dotnet run -c Release --project bench/SharpLM.Bench -- checkpointing [--preset gpt-6l-384d] [--batch 8]
/// [--threads 2] [--steps 5]`: activation checkpointing against stored activations, side by side — milliseconds
/// per forward + backward and the peak resident memory above the model's own (the kernel's VmHWM). Each variant runs
/// in its own process, since a process's peak only grows. glibc keeps freed memory in its heap once its mmap
/// threshold has risen, which hides part of what checkpointing frees, so each variant also runs with
/// MALLOC_MMAP_THRESHOLD_ fixed at 64 KiB (freed blocks go back to the kernel: the peak is the live peak). Random
/// tokens; the speed and memory do not depend on them. Not a test: nothing is asserted.
/// </summary>
static class CheckpointingBenchmark
{
    public static int Run(string[] args)
    {
        var opts = Args.Parse(args);
        if (opts.Has("child")) return Child(opts);
        Console.WriteLine("| malloc | activations | ms per forward + backward | peak RSS above the model (MB) |");
        Console.WriteLine("|---|---|---|---|");
        foreach (bool fixedThreshold in new[] { false, true })
            foreach (bool checkpointing in new[] { false, true })
            {
                var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
                if (!Environment.ProcessPath!.EndsWith("SharpLM.Bench", StringComparison.Ordinal)) psi.ArgumentList.Add(typeof(CheckpointingBenchmark).Assembly.Location);
                foreach (string a in new[] { "checkpointing", "--child", "1", "--checkpointing", checkpointing.ToString() }.Concat(args)) psi.ArgumentList.Add(a);
                if (fixedThreshold) psi.Environment["MALLOC_MMAP_THRESHOLD_"] = "65536";
                using var child = Process.Start(psi)!;
                string line = child.StandardOutput.ReadToEnd().Trim();
                child.WaitForExit();
                Console.WriteLine($"| {(fixedThreshold ? "mmap threshold 64 KiB" : "glibc default")} | {(checkpointing ? "recomputed per block" : "stored")} | {line} |");
            }
        return 0;
    }

    static int Child(Args opts)
    {
        TorchRuntime.SetThreads(int.Parse(opts.Get("threads", "2"), CultureInfo.InvariantCulture));
        int batch = int.Parse(opts.Get("batch", "8"), CultureInfo.InvariantCulture), steps = int.Parse(opts.Get("steps", "5"), CultureInfo.InvariantCulture);
        var config = PretrainConfig.Preset(opts.Get("preset", "gpt-6l-384d")).Model with { VocabSize = 65 };
        manual_seed(1);
        var model = new Gpt(config) { ActivationCheckpointing = bool.Parse(opts.Get("checkpointing", "false")) };
        model.train();
        var x = randint(0, config.VocabSize, new long[] { batch, config.BlockSize });
        var y = randint(0, config.VocabSize, new long[] { batch, config.BlockSize });
        long start = Status("VmRSS");
        var clock = new Stopwatch();
        for (int i = 0; i <= steps; i++)
        {
            if (i == 1) clock.Start(); // the first step allocates gradients and warms the kernels
            using var scope = NewDisposeScope();
            Functional.cross_entropy(model.forward(x).view(-1, config.VocabSize), y.view(-1)).backward();
            foreach (var p in model.parameters()) p.grad?.zero_();
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalMilliseconds / steps:F0} | {(Status("VmHWM") - start) / 1024.0:F0}"));
        return 0;
    }

    /// <summary>A /proc/self/status field in KiB.</summary>
    static long Status(string field) =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
