using SharpLM.Data.Catalog;

namespace SharpLM.Tests;

/// <summary>
/// The public data sets tests read, resolved exactly as the toolkit resolves them (<see cref="DataStore"/>: a
/// shared/data mirror beside or above the working directory, SHARPLM_MIRROR, the cache, then the network), and the
/// small fixtures that ship with the test project. A test that needs a data set says so with
/// <see cref="DataFactAttribute"/> or <see cref="DataTheoryAttribute"/>, so that on a machine that cannot have it
/// the test is reported as skipped with the reason and the fetch command, never silently passed or failed.
/// </summary>
internal static class TestData
{
    static readonly Dictionary<string, string?> unavailable = [];

    /// <summary>Verified local path of a manifest file such as "gsm8k/test.jsonl".</summary>
    public static string Path(string relative) => DataStore.Default.ResolveFile(relative);

    /// <summary>The checkout the tests were built from (the folder holding SharpLM.sln above the test binaries).</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "SharpLM.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException($"no SharpLM.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>Path of a fixture shipped with the test project (Fixtures/, copied beside the test binaries).</summary>
    public static string Fixture(string relative) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", relative);

    /// <summary>Null when every named data set can be had here, else a skip reason naming each missing one and its fetch command.</summary>
    public static string? SkipReason(string[] datasets)
    {
        var reasons = new List<string>();
        lock (unavailable)
        {
            foreach (string name in datasets)
            {
                if (!unavailable.TryGetValue(name, out string? reason))
                    unavailable[name] = reason = DataStore.Default.Unavailable(name);
                // The store's reason already names the fetch command; a test run can also point SHARPLM_MIRROR at a copy.
                if (reason is not null) reasons.Add($"needs data set '{name}' — {reason} (or set {DataStore.MirrorVariable} to a copy of the data folder)");
            }
        }
        return reasons.Count == 0 ? null : string.Join(" | ", reasons);
    }
}

/// <summary>A fact that needs the named data sets; skipped with the reason and fetch command where they cannot be had.</summary>
internal sealed class DataFactAttribute : FactAttribute
{
    public DataFactAttribute(params string[] datasets)
    {
        if (TestData.SkipReason(datasets) is string reason) Skip = reason;
    }
}

/// <summary>A theory that needs the named data sets; skipped with the reason and fetch command where they cannot be had.</summary>
internal sealed class DataTheoryAttribute : TheoryAttribute
{
    public DataTheoryAttribute(params string[] datasets)
    {
        if (TestData.SkipReason(datasets) is string reason) Skip = reason;
    }
}
