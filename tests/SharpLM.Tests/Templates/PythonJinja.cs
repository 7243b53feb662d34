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
    static readonly PythonWith python = new("import jinja2", "apt-get install python3-jinja2", ["/usr/bin/python3", "python3"]);

    /// <summary>Null when an interpreter with jinja2 is at hand, else why the test is skipped.</summary>
    public static string? SkipReason => python.SkipReason;

    /// <summary>Runs <paramref name="script"/> with <paramref name="arguments"/> and <paramref name="request"/> as JSON
    /// on stdin, and parses the JSON it prints.</summary>
    public static JsonNode RunJson(string script, string[] arguments, JsonNode request) => python.RunJson(script, arguments, request);
}

/// <summary>A fact that needs Python with jinja2 (<see cref="PythonJinja"/>); skipped with the reason where there is none.</summary>
internal sealed class PythonJinjaFactAttribute : FactAttribute
{
    public PythonJinjaFactAttribute()
    {
        if (PythonJinja.SkipReason is string reason) Skip = reason;
    }
}
