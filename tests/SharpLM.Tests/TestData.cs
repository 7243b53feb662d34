namespace SharpLM.Tests;

/// <summary>
/// Finds the shared data sets (tinyshakespeare, …) that live in a <c>shared/data</c> folder beside the repository,
/// so tests read real text without copying megabytes into the repo.
/// </summary>
internal static class TestData
{
    /// <summary>
    /// Path of <c>shared/data/{relative}</c> in the nearest parent of the test binaries that has one.
    /// Throws (failing the test with a clear message) when no parent does.
    /// </summary>
    public static string SharedData(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data", relative);
            if (File.Exists(candidate) || Directory.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException(
            $"Test data 'shared/data/{relative}' was not found in {AppContext.BaseDirectory} or any parent directory; " +
            "these tests need the shared data folder beside the repository.");
    }
}
