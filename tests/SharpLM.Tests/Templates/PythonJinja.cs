using System.Diagnostics;
using System.Text.Json.Nodes;

namespace SharpLM.Tests.Templates;

/// <summary>
/// A Python interpreter with jinja2, for tests that compare the C# template engine with jinja2 itself. Tried:
/// SHARPLM_PYTHON alone where set, else /usr/bin/python3 (Debian's python3-jinja2), then python3 on PATH (a pyenv or
/// virtual environment with jinja2 installed by pip). Where none imports jinja2, tests that need it are reported as
/// skipped with <see cref="SkipReason"/> (<see cref="PythonJinjaFactAttribute"/>).
/// </summary>
internal static class PythonJinja
{
    static readonly Lazy<string?> interpreter = new(Probe);

    /// <summary>The first interpreter that imports jinja2, or null.</summary>
    public static string? Interpreter => interpreter.Value;

    /// <summary>Null when an interpreter with jinja2 is at hand, else why the test is skipped.</summary>
    public static string? SkipReason => Interpreter is null
        ? $"needs python3 with jinja2 — none found (apt-get install python3-jinja2, or set {PythonTorch.Variable} to such an interpreter)"
        : null;

    static string? Probe()
    {
        string[] candidates = Environment.GetEnvironmentVariable(PythonTorch.Variable) is { Length: > 0 } configured
            ? [configured]
            : ["/usr/bin/python3", "python3"];
        foreach (string candidate in candidates)
        {
            try
            {
                var (code, _, _) = Run(candidate, ["-c", "import jinja2"], null, TimeSpan.FromSeconds(60));
                if (code == 0) return candidate;
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or TimeoutException)
            {
                // not installed here: try the next
            }
        }
        return null;
    }

    /// <summary>Runs <paramref name="script"/> with <paramref name="arguments"/> and <paramref name="request"/> as JSON
    /// on stdin, and parses the JSON it prints.</summary>
    /// <exception cref="InvalidOperationException">No interpreter, or the script failed.</exception>
    public static JsonNode RunJson(string script, string[] arguments, JsonNode request)
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

/// <summary>A fact that needs Python with jinja2 (<see cref="PythonJinja"/>); skipped with the reason where there is none.</summary>
internal sealed class PythonJinjaFactAttribute : FactAttribute
{
    public PythonJinjaFactAttribute()
    {
        if (PythonJinja.SkipReason is string reason) Skip = reason;
    }
}
