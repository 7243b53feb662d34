using SharpLM.IO;

namespace SharpLM.Data;

/// <summary>
/// Named public corpora. "tinyshakespeare" resolves to a local copy when one exists (the path in
/// SHARPLM_TINYSHAKESPEARE, or shared/data/tinyshakespeare/input.txt in the current directory or any of its
/// parents), else it is downloaded once from its canonical URL into ~/.cache/sharplm.
/// </summary>
public static class Corpora
{
    public const string TinyShakespeareName = "tinyshakespeare";
    public const string TinyShakespeareUrl = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt";
    const string RelativeShared = "shared/data/tinyshakespeare/input.txt";

    /// <summary>Returns a file path for <paramref name="spec"/>: a corpus name, an http(s) URL, or a path (returned as is).</summary>
    public static string Resolve(string spec, Action<string>? log = null)
    {
        if (spec == TinyShakespeareName) return TinyShakespeare(log);
        if (spec.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || spec.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            return Download(spec, $"{UrlKey(spec)}-{Path.GetFileName(new Uri(spec).LocalPath)}", log);
        return spec;
    }

    public static string TinyShakespeare(Action<string>? log = null)
    {
        string? env = Environment.GetEnvironmentVariable("SHARPLM_TINYSHAKESPEARE");
        if (!string.IsNullOrEmpty(env) && File.Exists(env)) return env;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, RelativeShared);
            if (File.Exists(candidate)) return candidate;
        }
        return Download(TinyShakespeareUrl, "tinyshakespeare.txt", log);
    }

    /// <summary>Short hash of the URL, so two URLs that end in the same file name do not share a cache entry.</summary>
    static string UrlKey(string url) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(url)))[..12];

    static string Download(string url, string name, Action<string>? log)
    {
        string cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "sharplm");
        string path = Path.Combine(cache, name);
        if (File.Exists(path)) return path;
        log?.Invoke($"downloading {url}");
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
            byte[] bytes = http.GetByteArrayAsync(url).GetAwaiter().GetResult();
            AtomicFile.WriteAllBytes(path, bytes);
            return path;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            throw new InvalidInputException($"{url}: download failed ({InvalidInputException.FirstLine(e)}); pass a local file with --data");
        }
    }
}
