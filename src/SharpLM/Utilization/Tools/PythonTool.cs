using Microsoft.Extensions.AI;
using SharpLM.Sandbox;

namespace SharpLM.Utilization.Tools;

/// <summary>
/// "python": runs a program the model wrote in <see cref="CodeSandbox"/> (bubblewrap: read-only system, no network,
/// time, memory, process and output limits) and returns what it printed. A program that fails comes back as its
/// error's last line, so the model can read it and try again; generated code never runs outside the sandbox — when no
/// sandbox works here, every call says so instead of running anything.
/// </summary>
public static class PythonTool
{
    /// <summary>The tool's name.</summary>
    public const string Name = "python";

    /// <summary>Most characters of output handed back to the model.</summary>
    public const int MaxObservation = 2000;

    /// <summary>A python tool over a sandbox created on first use with <paramref name="options"/> (default limits: 10 s, 1 GiB).</summary>
    public static AIFunction Create(SandboxOptions? options = null)
    {
        var sandbox = new Lazy<Task<CodeSandbox>>(() => CodeSandbox.CreateAsync(options));
        return AIFunctionFactory.Create(
            async (string code, CancellationToken cancellation) => await RunAsync(await sandbox.Value.WaitAsync(cancellation), code, cancellation),
            Name, "Runs a Python 3 program in a sandbox (no network, no files kept) and returns what it prints; print the result.");
    }

    /// <summary>What one program prints, or its failure as "error: …" (timeout, exit status and the error's last line).</summary>
    public static async Task<string> RunAsync(CodeSandbox sandbox, string code, CancellationToken cancellation = default)
    {
        var result = await sandbox.RunAsync(code, cancellation);
        string output = result.Stdout.TrimEnd();
        if (result.TimedOut) return $"error: the program ran past {sandbox.Options.Timeout.TotalSeconds:0.#} s and was stopped" + Tail(output);
        if (!result.Passed)
        {
            string last = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? $"exit status {result.ExitCode}";
            return $"error: {last}" + Tail(output);
        }
        return Clip(output.Length == 0 ? "(the program printed nothing: print the result)" : output);
    }

    static string Tail(string output) => output.Length == 0 ? "" : "\noutput before it: " + Clip(output);

    static string Clip(string text) => text.Length <= MaxObservation ? text : text[..MaxObservation] + $"… ({text.Length - MaxObservation} more characters)";
}
