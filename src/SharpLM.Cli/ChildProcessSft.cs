using System.Diagnostics;
using System.Globalization;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Runtime;

namespace SharpLM.Cli;

/// <summary>
/// Runs one `sharplm sft` in a child process and reads its sft_summary.json, so that a comparison's peak memory
/// is each method's own rather than the high-water mark of everything run before it in one process.
/// </summary>
public static class ChildProcessSft
{
    public static SftRunSummary Run(SftRunOptions o, string outDir)
    {
        var c = CultureInfo.InvariantCulture;
        var args = new List<string>
        {
            "sft", "--base", o.Base, "--data", o.Data, "--format", o.Format, "--method", o.Method, "--out", outDir,
            "--max-iters", o.Training.MaxIters.ToString(c), "--batch-size", o.Training.BatchSize.ToString(c),
            "--learning-rate", o.Training.LearningRate.ToString("R", c), "--eval-interval", o.Training.EvalInterval.ToString(c),
            "--eval-limit", o.EvalLimit.ToString(c), "--seed", o.Training.Seed.ToString(c), "--threads", o.Training.Threads.ToString(c),
            "--lora-r", o.Lora.Rank.ToString(c), "--lora-alpha", o.Lora.Alpha.ToString("R", c), "--lora-dropout", o.Lora.Dropout.ToString("R", c),
            "--lora-targets", string.Join(",", o.Lora.TargetModules), "--adapter-size", o.Adapter.BottleneckSize.ToString(c),
            "--prefix-length", o.Prefix.Length.ToString(c), "--prompt-length", o.Prompt.Length.ToString(c),
        };
        if (o.Suite is { } suite && suite != new Adaptation.Formatting.SyntheticSuiteOptions { Seed = suite.Seed })
            throw new InvalidInputException("a child sft process builds the synthetic suite with its default options (and the seed); other suite options need an in-process run");
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Under `dotnet SharpLM.Cli.dll` the process is the dotnet host: the app's own assembly goes first.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") start.ArgumentList.Add(typeof(ChildProcessSft).Assembly.Location);
        foreach (string a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null)
            if (line.StartsWith("step ", StringComparison.Ordinal) || line.StartsWith("eval ", StringComparison.Ordinal)) Console.Error.WriteLine($"  {o.Method}: {line}");
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"sft --method {o.Method} failed (exit {process.ExitCode}): {stderr.Result.Trim().Split('\n').LastOrDefault()}");
        return Json.ReadFile<SftRunSummary>(Path.Combine(outDir, SftRun.SummaryFile));
    }
}
