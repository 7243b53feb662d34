using System.Diagnostics;
using System.Text.Json.Nodes;

namespace SharpLM.Tests;

/// <summary>
/// A Python interpreter that imports what a family of reference tests needs, found once: SHARPLM_PYTHON alone where
/// set (so SHARPLM_PYTHON=none shows the skips), else the candidates in order. Where none imports the modules, the
/// tests are reported as skipped with <see cref="SkipReason"/>.
/// </summary>
/// <param name="imports">The import statement that must succeed ("import torch, numpy").</param>
/// <param name="install">What to install where it fails, for the skip reason.</param>
/// <param name="candidates">Interpreters tried in order when SHARPLM_PYTHON is not set.</param>
internal sealed class PythonWith(string imports, string install, string[] candidates)
{
    /// <summary>The environment variable naming the Python interpreter to use.</summary>
    public const string Variable = "SHARPLM_PYTHON";

    readonly Lazy<string?> interpreter = new(() =>
    {
        string[] tried = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } configured ? [configured] : candidates;
        foreach (string candidate in tried)
        {
            try
            {
                if (Run(candidate, ["-c", imports], null, TimeSpan.FromSeconds(60)).Code == 0) return candidate;
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or TimeoutException)
            {
                // not installed here: try the next
            }
        }
        return null;
    });

    /// <summary>The first interpreter that imports the modules, or null.</summary>
    public string? Interpreter => interpreter.Value;

    /// <summary>Null when an interpreter is at hand, else why the test is skipped.</summary>
    public string? SkipReason => Interpreter is null
        ? $"needs python3 where `{imports}` works — none found ({install}, or set {Variable} to such an interpreter)"
        : null;

    /// <summary>Runs <paramref name="script"/> with <paramref name="arguments"/> and <paramref name="request"/> as JSON on
    /// stdin, and parses the JSON it prints.</summary>
    /// <exception cref="InvalidOperationException">No interpreter, or the script failed.</exception>
    public JsonNode RunJson(string script, string[] arguments, JsonNode request)
    {
        string python = Interpreter ?? throw new InvalidOperationException(SkipReason);
        var (code, stdout, stderr) = Run(python, [script, .. arguments], request.ToJsonString(), TimeSpan.FromMinutes(2));
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
            StandardInputEncoding = new System.Text.UTF8Encoding(false),
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        start.Environment["PYTHONIOENCODING"] = "utf-8";
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

/// <summary>
/// Python with torch and numpy, for tests that compare the C# against a reference written in PyTorch (TRL's formulas,
/// transcriptions of transformers' modeling code). python3 on PATH first, then /usr/bin/python3 (Debian's
/// python3-torch lives there even where PATH leads to another Python, e.g. pyenv's).
/// </summary>
internal static class PythonTorch
{
    static readonly PythonWith python = new("import torch, numpy", "apt-get install python3-torch python3-numpy", ["python3", "/usr/bin/python3"]);

    /// <summary>The environment variable naming the Python interpreter to use.</summary>
    public const string Variable = PythonWith.Variable;

    /// <summary>Null when an interpreter with torch and numpy is at hand, else why the test is skipped.</summary>
    public static string? SkipReason => python.SkipReason;

    /// <summary>Runs <paramref name="script"/> with <paramref name="request"/> as JSON on stdin and parses the JSON it prints.</summary>
    public static JsonNode RunJson(string script, JsonNode request) => python.RunJson(script, [], request);
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
