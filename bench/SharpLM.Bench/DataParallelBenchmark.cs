using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpLM.Data;
using SharpLM.Runtime;
using SharpLM.Training;

/// <summary>
/// `dotnet run -c Release --project bench/SharpLM.Bench -- data-parallel [--preset gpt-6l-384d] [--iters 30]
/// [--rounds 2] [--ranks 2] [--zero 0]`: the same pre-training run as `mpirun -np R sharplm pretrain` with one thread
/// per rank and as one process with R threads (which splits each batch in two shards), alternating round by round
/// so a noisy machine slows both alike. Reports each run's median ms/iter and tokens/s from its summary.json and
/// the ratio. Needs OpenMPI's mpirun. Not a test: nothing is asserted.
/// </summary>
static class DataParallelBenchmark
{
    public static int Run(string[] args)
    {
        var opts = Args.Parse(args);
        string preset = opts.Get("preset", "gpt-6l-384d"), outDir = Path.GetFullPath(opts.Get("out", "out/bench-dp"));
        int iters = int.Parse(opts.Get("iters", "30"), CultureInfo.InvariantCulture), rounds = int.Parse(opts.Get("rounds", "2"), CultureInfo.InvariantCulture);
        int ranks = int.Parse(opts.Get("ranks", "2"), CultureInfo.InvariantCulture);
        string zero = opts.Get("zero", "0");
        string cli = opts.Get("cli", DefaultCli());
        if (!File.Exists(cli)) throw new FileNotFoundException($"{cli}: build it first (dotnet build -c Release src/SharpLM.Cli) or pass --cli PATH");
        Directory.CreateDirectory(outDir);
        string data = Path.Combine(outDir, "data");
        var config = PretrainConfig.Preset(preset);
        if (!DataPreparer.IsPrepared(data)) DataPreparer.Prepare(Corpora.TinyShakespeare(Console.Error.WriteLine), config.Tokenizer, data);
        // Evaluation and checkpoints only at the ends, so the median step is training alone.
        string[] common = ["pretrain", "--preset", preset, "--data", data, "--max-iters", iters.ToString(CultureInfo.InvariantCulture),
            "--eval-interval", iters.ToString(CultureInfo.InvariantCulture), "--eval_iters", "1", "--gc_interval", "0"];

        Console.WriteLine($"| round | run | median ms/iter | tokens/s | peak RSS (rank 0) MB |");
        Console.WriteLine("|---|---|---|---|---|");
        var ratios = new List<double>();
        for (int round = 1; round <= rounds; round++)
        {
            var one = Launch("dotnet", [cli, .. common, "--threads", ranks.ToString(CultureInfo.InvariantCulture), "--out", Path.Combine(outDir, $"one-{round}")], Path.Combine(outDir, $"one-{round}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {round} | 1 process × {ranks} threads | {one.MedianMsPerIter:F1} | {one.TokensPerSecond:N0} | {one.PeakRssMb:F0} |"));
            var mpi = Launch("mpirun", ["--oversubscribe", "-np", ranks.ToString(CultureInfo.InvariantCulture), "-x", "OMP_NUM_THREADS=1", "dotnet", cli, .. common,
                "--threads", "1", "--zero_stage", zero, "--out", Path.Combine(outDir, $"mpi-{round}")], Path.Combine(outDir, $"mpi-{round}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {round} | mpirun -np {ranks} × 1 thread{(zero != "0" ? $", ZeRO-{zero}" : "")} | {mpi.MedianMsPerIter:F1} | {mpi.TokensPerSecond:N0} | {mpi.PeakRssMb:F0} |"));
            ratios.Add(mpi.TokensPerSecond / one.TokensPerSecond);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\nMPI ranks vs one process, tokens/s: {string.Join(", ", ratios.Select(r => r.ToString("F3", CultureInfo.InvariantCulture)))} (round by round)"));
        return 0;
    }

    /// <summary>The Release build of the command line in the repository this bench runs from.</summary>
    static string DefaultCli()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "src", "SharpLM.Cli")))
                return Path.Combine(dir.FullName, "src", "SharpLM.Cli", "bin", "Release", "net10.0", "linux-x64", "SharpLM.Cli.dll");
        return "SharpLM.Cli.dll";
    }

    static TrainingSummary Launch(string file, string[] arguments, string run)
    {
        if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} exited with {p.ExitCode}: {err.Result}{output[^Math.Min(2000, output.Length)..]}");
        return JsonSerializer.Deserialize<TrainingSummary>(File.ReadAllText(Path.Combine(run, Trainer.SummaryFile)), Json.Options)!;
    }
}
