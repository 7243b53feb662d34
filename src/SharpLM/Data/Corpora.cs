using SharpLM.Data.Catalog;

namespace SharpLM.Data;

/// <summary>
/// Turns a corpus argument (<c>--data</c>, <c>--input</c>, <c>--mix-with</c>) into a local file: the name of a
/// one-file data set in the manifest ("tinyshakespeare", "gsm8k", …) resolves through <see cref="DataStore"/>
/// (verified mirror, cache or download) unless a file or folder of that name exists, an http(s) URL is downloaded
/// once into the cache, and anything else is a path, returned as it is.
/// </summary>
public static class Corpora
{
    /// <summary>The default pre-training corpus.</summary>
    public const string TinyShakespeareName = "tinyshakespeare";

    /// <summary>Returns a file path for <paramref name="spec"/>: a data set name, an http(s) URL, or a path (returned as is).</summary>
    /// <param name="spec">What the user typed.</param>
    /// <param name="log">Receives one line per download step (progress with rate and ETA).</param>
    public static string Resolve(string spec, Action<string>? log = null)
    {
        var store = DataStore.Default;
        // A file or folder of that name in the working directory wins over a data set name.
        if (!File.Exists(spec) && !Directory.Exists(spec) && store.Manifest.Find(spec) is { } set)
        {
            if (set.Files.Count != 1)
                throw new InvalidInputException($"data set '{spec}' has {set.Files.Count} files; pass one of them with its path ({string.Join(", ", set.Files.Select(f => f.Path))})");
            return store.ResolveFile(set.Files[0].Path, Progress(log));
        }
        if (spec.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || spec.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            return store.DownloadUrl(spec, Progress(log));
        return spec;
    }

    /// <summary>The local, verified path of tinyshakespeare (downloaded on first use when no mirror has it).</summary>
    public static string TinyShakespeare(Action<string>? log = null) => Resolve(TinyShakespeareName, log);

    static IProgress<DownloadProgress>? Progress(Action<string>? log) => log is null ? null : DownloadReport.To(log);
}
