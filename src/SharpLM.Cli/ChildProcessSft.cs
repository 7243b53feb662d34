using System.Diagnostics;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Runtime;

namespace SharpLM.Cli;

/// <summary>
/// Runs one `sharplm sft` in a child process and reads its sft_summary.json, so that a comparison's peak memory
/// is each method's own rather than the high-water mark of everything run before it in one process. The child gets
/// the run as an options file (<see cref="SftRunOptions.Write"/>, kept in the run directory as a record), not as a
/// re-built command line: every field travels, so the child runs exactly what an in-process run would.
/// </summary>
public static class ChildProcessSft
{
    /// <summary>Runs <paramref name="o"/> into <paramref name="outDir"/> in a child `sharplm sft-child` and returns its summary.</summary>
    /// <exception cref="InvalidOperationException">The child failed; the message carries its last error line.</exception>
    public static SftRunSummary Run(SftRunOptions o, string outDir)
    {
        Directory.CreateDirectory(outDir);
        string optionsFile = Path.Combine(outDir, SftRunOptions.FileName);
        o.Write(optionsFile);
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Under `dotnet SharpLM.Cli.dll` the process is the dotnet host: the app's own assembly goes first.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") start.ArgumentList.Add(typeof(ChildProcessSft).Assembly.Location);
        foreach (string a in Arguments(optionsFile, outDir)) start.ArgumentList.Add(a);
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

    /// <summary>The child's command line after the program: the hidden `sft-child` verb with the options file.</summary>
    public static IReadOnlyList<string> Arguments(string optionsFile, string outDir) => ["sft-child", "--options-file", optionsFile, "--out", outDir];
}
