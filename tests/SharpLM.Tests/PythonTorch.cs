using System.Diagnostics;
using System.Text.Json.Nodes;

namespace SharpLM.Tests;

/// <summary>
/// A Python interpreter that can import torch and numpy, for tests that compare the C# against a reference written
/// in PyTorch (such as TRL's formulas). Tried: SHARPLM_PYTHON alone where set, else python3 on PATH, then
/// /usr/bin/python3 (Debian's python3-torch lives there even where PATH leads to another Python, e.g. pyenv's).
/// Where none can, tests that need it are reported as skipped with <see cref="SkipReason"/>
/// (<see cref="PythonTorchFactAttribute"/>).
/// </summary>
internal static class PythonTorch
{
    /// <summary>The environment variable naming the Python interpreter to use.</summary>
    public const string Variable = "SHARPLM_PYTHON";

    static readonly Lazy<string?> interpreter = new(Probe);

    /// <summary>The first interpreter that imports torch and numpy, or null.</summary>
    public static string? Interpreter => interpreter.Value;

    /// <summary>Null when an interpreter with torch and numpy is at hand, else why the test is skipped.</summary>
    public static string? SkipReason => Interpreter is null
        ? $"needs python3 with torch and numpy — none found (apt-get install python3-torch python3-numpy, or set {Variable} to such an interpreter)"
        : null;

    static string? Probe()
    {
        // A configured interpreter is the only one tried (so SHARPLM_PYTHON=none shows the skip).
        string[] candidates = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } configured
            ? [configured]
            : ["python3", "/usr/bin/python3"];
        foreach (string candidate in candidates)
        {
            try
            {
                var (code, _, _) = Run(candidate, ["-c", "import torch, numpy"], null, TimeSpan.FromSeconds(60));
                if (code == 0) return candidate;
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or TimeoutException)
            {
                // not installed here: try the next
            }
        }
        return null;
    }

    /// <summary>Runs <paramref name="script"/> with <paramref name="request"/> as JSON on stdin and parses the JSON it prints.</summary>
    /// <exception cref="InvalidOperationException">No interpreter, or the script failed.</exception>
    public static JsonNode RunJson(string script, JsonNode request)
    {
        string python = Interpreter ?? throw new InvalidOperationException(SkipReason);
        var (code, stdout, stderr) = Run(python, [script], request.ToJsonString(), TimeSpan.FromMinutes(2));
        if (code != 0) throw new InvalidOperationException($"{python} {script} exited with {code}: {stderr}");
        return JsonNode.Parse(stdout) ?? throw new InvalidOperationException($"{script} printed no JSON");
    }

    static (int Code, string Stdout, string Stderr) Run(string file, string[] arguments, string? stdin, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} ran past {timeout}");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A fact that needs Python with torch and numpy (<see cref="PythonTorch"/>); skipped with the reason where there is none.</summary>
internal sealed class PythonTorchFactAttribute : FactAttribute
{
    public PythonTorchFactAttribute()
    {
        if (PythonTorch.SkipReason is string reason) Skip = reason;
    }
}

/// <summary>A theory that is skipped, with the reason, where no Python with torch and numpy is found.</summary>
internal sealed class PythonTorchTheoryAttribute : TheoryAttribute
{
    public PythonTorchTheoryAttribute()
    {
        if (PythonTorch.SkipReason is string reason) Skip = reason;
    }
}
