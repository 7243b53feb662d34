namespace SharpLM.Tests;

/// <summary>
/// The system's Chromium for browser tests: Playwright drives it by path, because Playwright's own browser download
/// needs the internet. SHARPLM_CHROMIUM names another executable; the default is Debian's <c>chromium</c> package.
/// </summary>
internal static class Chromium
{
    /// <summary>The environment variable naming the Chromium executable to use.</summary>
    public const string Variable = "SHARPLM_CHROMIUM";

    /// <summary>The executable the tests launch.</summary>
    public static string Path => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } configured ? configured : "/usr/bin/chromium";

    /// <summary>Null when the executable exists, else why a browser test is skipped.</summary>
    public static string? SkipReason => File.Exists(Path)
        ? null
        : $"needs Chromium at {Path} — none found (apt-get install chromium, or set {Variable} to a Chromium executable)";
}

/// <summary>A fact that drives a real browser (<see cref="Chromium"/>); skipped with the reason where there is none.</summary>
internal sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.SkipReason is string reason) Skip = reason;
    }
}
