using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using SharpLM.IO;

namespace SharpLM.Data.Catalog;

/// <summary>Where a data file was found or put.</summary>
public enum DataFileSource
{
    /// <summary>A mirror folder (shared/data, --mirror, SHARPLM_MIRROR) had a verified copy; it is read in place.</summary>
    Mirror,
    /// <summary>The cache already had a verified copy.</summary>
    Cache,
    /// <summary>Copied from a mirror into the cache (by <see cref="DataStore.Fetch"/>).</summary>
    CopiedFromMirror,
    /// <summary>Downloaded from the manifest's URL into the cache.</summary>
    Downloaded,
}

/// <summary>A verified local copy of a manifest file.</summary>
/// <param name="File">The manifest entry.</param>
/// <param name="LocalPath">Absolute path of the verified copy.</param>
/// <param name="Source">Where it came from.</param>
public sealed record ResolvedDataFile(DatasetFile File, string LocalPath, DataFileSource Source);

/// <summary>Progress of one download, reported about ten times a second and once at the end.</summary>
/// <param name="Path">The manifest path (or URL) being downloaded.</param>
/// <param name="Received">Bytes on disk so far, including a resumed part.</param>
/// <param name="Total">Expected total bytes, when the server or the manifest says.</param>
/// <param name="BytesPerSecond">Mean rate of this attempt.</param>
public sealed record DownloadProgress(string Path, long Received, long? Total, double BytesPerSecond)
{
    /// <summary>Estimated time left, when the total and a rate are known.</summary>
    public TimeSpan? Eta => Total is long t && BytesPerSecond > 0 ? TimeSpan.FromSeconds(Math.Max(0, t - Received) / BytesPerSecond) : null;
}

/// <summary>What the store has of a manifest file without downloading anything.</summary>
/// <param name="File">The manifest entry.</param>
/// <param name="LocalPath">The verified copy, or null.</param>
/// <param name="Source">Mirror or Cache when found, else null.</param>
/// <param name="Problem">Why a copy that exists cannot be used (wrong size or hash), or null.</param>
public sealed record DataFileStatus(DatasetFile File, string? LocalPath, DataFileSource? Source, string? Problem);

/// <summary>Settings of a <see cref="DataStore"/>.</summary>
public sealed record DataStoreOptions
{
    /// <summary>Folder the data sets are downloaded into, laid out as the manifest paths (the same layout as a mirror).</summary>
    public required string CacheDirectory { get; init; }
    /// <summary>Folders searched first, in order, for a copy laid out as the manifest paths (e.g. shared/data).</summary>
    public IReadOnlyList<string> Mirrors { get; init; } = [];
    /// <summary>Whether a file found nowhere is downloaded from its URL (false: SHARPLM_OFFLINE=1).</summary>
    public bool AllowDownload { get; init; } = true;
    /// <summary>How long to wait for a connection before calling the network unreachable.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// The one resolver of named data: every CLI default, task file, experiment and test that reads a public data set
/// asks it for a manifest path and gets back a local file whose size and SHA-256 match the manifest. It looks in the
/// mirror folders first (read in place), then in the cache, and otherwise downloads the file's pinned URL into the
/// cache: to <c>PATH.part</c> first, resuming a partial download with an HTTP range request (or restarting when the
/// server ignores it or the result does not verify), and renaming only a verified file into place. A file that is
/// present but does not verify is never read.
/// </summary>
public sealed class DataStore
{
    /// <summary>The environment variable naming the cache folder (default ~/.cache/sharplm).</summary>
    public const string CacheVariable = "SHARPLM_DATA";
    /// <summary>The environment variable naming a mirror folder searched before shared/data.</summary>
    public const string MirrorVariable = "SHARPLM_MIRROR";
    /// <summary>Set to 1 to never download (a missing file is then an error that names the fetch command).</summary>
    public const string OfflineVariable = "SHARPLM_OFFLINE";

    static DataStore? current;
    readonly ConcurrentDictionary<string, (long Length, DateTime Written)> verified = new();
    readonly Lazy<HttpClient> http;
    string? unreachable; // the first connection failure: later downloads fail at once instead of waiting again

    /// <summary>A store over <paramref name="options"/> and a manifest (default: the built-in one).</summary>
    public DataStore(DataStoreOptions options, DatasetManifest? manifest = null)
    {
        Options = options;
        Manifest = manifest ?? DatasetManifest.BuiltIn;
        http = new(() => new HttpClient(new SocketsHttpHandler { ConnectTimeout = options.ConnectTimeout }) { Timeout = Timeout.InfiniteTimeSpan });
    }

    /// <summary>The process-wide store: from the environment unless a caller (the CLI's --mirror) replaced it.</summary>
    public static DataStore Default
    {
        get => current ??= FromEnvironment();
        set => current = value;
    }

    /// <summary>The manifest this store resolves against.</summary>
    public DatasetManifest Manifest { get; }

    /// <summary>The settings this store was made with.</summary>
    public DataStoreOptions Options { get; }

    /// <summary>
    /// A store configured as a user's machine is: cache from SHARPLM_DATA or ~/.cache/sharplm; mirrors, in order,
    /// <paramref name="mirror"/>, SHARPLM_MIRROR, and the first <c>shared/data</c> in the working directory or a
    /// parent of it; downloads unless SHARPLM_OFFLINE=1.
    /// </summary>
    public static DataStore FromEnvironment(string? mirror = null)
    {
        string? cache = Environment.GetEnvironmentVariable(CacheVariable);
        if (string.IsNullOrEmpty(cache))
            cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "sharplm");
        var mirrors = new List<string>();
        if (!string.IsNullOrEmpty(mirror))
            mirrors.Add(Directory.Exists(mirror) ? mirror : throw InvalidInputException.ForFile(mirror, "mirror folder not found"));
        if (Environment.GetEnvironmentVariable(MirrorVariable) is { Length: > 0 } fromEnv)
            mirrors.Add(Directory.Exists(fromEnv) ? fromEnv : throw InvalidInputException.ForFile(fromEnv, $"mirror folder named by {MirrorVariable} not found"));
        if (NearestSharedData(Directory.GetCurrentDirectory()) is string shared) mirrors.Add(shared);
        return new DataStore(new DataStoreOptions
        {
            CacheDirectory = Path.GetFullPath(cache),
            Mirrors = mirrors.Select(Path.GetFullPath).Distinct().ToList(),
            AllowDownload = Environment.GetEnvironmentVariable(OfflineVariable) is not ("1" or "true"),
        });
    }

    /// <summary><c>shared/data</c> in <paramref name="start"/> or its nearest parent that has one, or null.</summary>
    public static string? NearestSharedData(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The command that fetches data set <paramref name="name"/>, for error messages.</summary>
    public static string FetchCommand(string name) => $"sharplm data fetch {name}";

    /// <summary>
    /// A verified local path for <paramref name="relativePath"/>. A manifest file comes from a mirror, the cache or
    /// its URL; any other relative path (a user's own task data) is looked up in the mirrors as it is, unverified.
    /// Fails with one line naming the file and the fetch command.
    /// </summary>
    public string ResolveFile(string relativePath, IProgress<DownloadProgress>? progress = null)
    {
        // The path comes from task files and pipelines written by others: it must stay inside the mirror.
        if (EscapesRoot(relativePath))
            throw new InvalidInputException($"{relativePath}: a data set path must be relative and stay inside the mirror (no leading '/' or '..' segments)");
        if (Manifest.FindFile(relativePath) is { } entry) return Resolve(entry.Dataset, entry.File, progress).LocalPath;
        foreach (string mirror in Options.Mirrors)
        {
            string candidate = Path.Combine(mirror, relativePath);
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidInputException($"{relativePath}: not a file of any known data set and not found in "
            + (Options.Mirrors.Count == 0 ? "a mirror (none found; pass --mirror DIR)" : string.Join(", ", Options.Mirrors)));
    }

    /// <summary>Whether <paramref name="path"/> is rooted (/x, C:\\x, ~/x) or has a ".." segment, so it could name a file outside the folder it is resolved in.</summary>
    public static bool EscapesRoot(string path) =>
        Path.IsPathRooted(path) || path.StartsWith('~') || path.Split('/', '\\').Any(segment => segment == "..");

    /// <summary>Verified local paths of every file of data set <paramref name="name"/>, in manifest order.</summary>
    public IReadOnlyList<string> ResolveDataset(string name, IProgress<DownloadProgress>? progress = null)
    {
        var set = Manifest.Get(name);
        return set.Files.Select(f => Resolve(set, f, progress).LocalPath).ToList();
    }

    /// <summary>Null when every file of data set <paramref name="name"/> can be had (downloading if needed), else why not.</summary>
    public string? Unavailable(string name)
    {
        try { ResolveDataset(name); return null; }
        catch (InvalidInputException e) { return e.Message; }
    }

    /// <summary>What a mirror or the cache holds of <paramref name="file"/>, without downloading.</summary>
    public DataFileStatus Locate(DatasetFile file)
    {
        foreach (string mirror in Options.Mirrors)
        {
            string candidate = Path.Combine(mirror, file.LocalPath);
            if (File.Exists(candidate))
                return Check(candidate, file) is string problem
                    ? new DataFileStatus(file, null, DataFileSource.Mirror, $"{candidate}: {problem}")
                    : new DataFileStatus(file, candidate, DataFileSource.Mirror, null);
        }
        string cached = CachePath(file);
        if (!File.Exists(cached)) return new DataFileStatus(file, null, null, null);
        return Check(cached, file) is string cacheProblem
            ? new DataFileStatus(file, null, DataFileSource.Cache, $"{cached}: {cacheProblem}")
            : new DataFileStatus(file, cached, DataFileSource.Cache, null);
    }

    /// <summary>
    /// Makes every file of a data set present and verified in the cache, as <c>sharplm data fetch</c> does: a
    /// verified mirror copy is copied in, a verified cached copy is kept, anything else is downloaded (a cached copy
    /// that does not verify is downloaded again). A mirror copy that does not verify is an error naming it.
    /// </summary>
    public IReadOnlyList<ResolvedDataFile> Fetch(string name, IProgress<DownloadProgress>? progress = null)
    {
        var set = Manifest.Get(name);
        var results = new List<ResolvedDataFile>();
        foreach (var file in set.Files)
        {
            var status = Locate(file);
            if (status is { Source: DataFileSource.Mirror, Problem: string bad }) throw new InvalidInputException(bad);
            string cached = CachePath(file);
            if (status is { Source: DataFileSource.Mirror, LocalPath: string mirrored })
            {
                AtomicFile.Write(cached, s => { using var from = File.OpenRead(mirrored); from.CopyTo(s); });
                Verify(cached, file);
                results.Add(new ResolvedDataFile(file, cached, DataFileSource.CopiedFromMirror));
            }
            else results.Add(Resolve(set, file, progress, status));
        }
        return results;
    }

    ResolvedDataFile Resolve(Dataset set, DatasetFile file, IProgress<DownloadProgress>? progress, DataFileStatus? known = null)
    {
        var status = known ?? Locate(file);
        if (status.LocalPath is string found) return new ResolvedDataFile(file, found, status.Source!.Value);
        if (status is { Source: DataFileSource.Mirror, Problem: string badMirror }) throw new InvalidInputException(badMirror);
        string? corrupt = status.Problem; // a cached copy that does not verify: download it again
        if (!Options.AllowDownload)
            throw new InvalidInputException($"{corrupt ?? file.Path + ": data set '" + set.Name + "' is not in the cache or any mirror"} "
                + $"and downloads are off ({OfflineVariable}=1); run `{FetchCommand(set.Name)} --mirror DIR` or unset {OfflineVariable}");
        try
        {
            Download(file, progress);
        }
        catch (InvalidInputException e)
        {
            string where = corrupt is null ? $"{file.Path}: data set '{set.Name}' is not in the cache or any mirror and " : $"{corrupt}; ";
            throw new InvalidInputException($"{where}downloading it failed ({e.Message}); run `{FetchCommand(set.Name)}` when online, or pass --mirror DIR (a copy of the data folder)", e);
        }
        return new ResolvedDataFile(file, CachePath(file), DataFileSource.Downloaded);
    }

    /// <summary>Where <paramref name="file"/> lives in the cache.</summary>
    public string CachePath(DatasetFile file) => Path.Combine(Options.CacheDirectory, file.LocalPath);

    /// <summary>
    /// Downloads an arbitrary URL once into the cache's <c>urls/</c> folder (unverified: no manifest vouches for it)
    /// and returns the local path; later calls return the cached copy.
    /// </summary>
    public string DownloadUrl(string url, IProgress<DownloadProgress>? progress = null)
    {
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url)))[..12];
        string path = Path.Combine(Options.CacheDirectory, "urls", $"{key}-{Path.GetFileName(new Uri(url).LocalPath)}");
        if (File.Exists(path)) return path;
        try
        {
            string part = path + ".part";
            Transfer(url, url, part, null, progress);
            File.Move(part, path, overwrite: true);
            return path;
        }
        catch (InvalidInputException e) { throw new InvalidInputException($"{url}: download failed ({e.Message}); pass a local file instead", e); }
    }

    /// <summary>Null when <paramref name="path"/> has the manifest's size and SHA-256, else what is wrong.</summary>
    string? Check(string path, DatasetFile file)
    {
        var info = new FileInfo(path);
        string full = info.FullName;
        if (verified.TryGetValue(full, out var seen) && seen == (info.Length, info.LastWriteTimeUtc)) return null;
        if (info.Length != file.Bytes) return $"size is {info.Length} bytes, the manifest says {file.Bytes} (truncated or changed file)";
        string sha = Sha256Of(path);
        if (sha != file.Sha256) return $"SHA-256 is {sha}, the manifest says {file.Sha256} (corrupt or changed file)";
        verified[full] = (info.Length, info.LastWriteTimeUtc);
        return null;
    }

    void Verify(string path, DatasetFile file)
    {
        if (Check(path, file) is string problem)
        {
            AtomicFile.TryDelete(path);
            throw InvalidInputException.ForFile(path, problem);
        }
    }

    /// <summary>SHA-256 of a file as 64 lower-case hex digits.</summary>
    public static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    void Download(DatasetFile file, IProgress<DownloadProgress>? progress)
    {
        string target = CachePath(file);
        string part = target + ".part";
        long expected = file.Lines is null ? file.Bytes : file.DownloadBytes!.Value;
        string expectedSha = file.Lines is null ? file.Sha256 : file.DownloadSha256!;
        // A resumed part that does not verify may be stale (the server's file changed under it): restart once.
        for (int attempt = 0; ; attempt++)
        {
            bool resumed = Transfer(file.Url, file.Path, part, expected, progress);
            var length = new FileInfo(part).Length;
            string? problem = length != expected ? $"got {length} bytes, expected {expected}"
                : Sha256Of(part) is var sha && sha != expectedSha ? $"SHA-256 is {sha}, expected {expectedSha}" : null;
            if (problem is null) break;
            AtomicFile.TryDelete(part);
            if (!resumed || attempt > 0) throw new InvalidInputException($"{file.Url}: {problem}; the download was refused and nothing was kept");
        }
        if (file.Lines is [int first, int last])
        {
            AtomicFile.Write(target, s => CopyLines(part, s, first, last));
            AtomicFile.TryDelete(part);
        }
        else File.Move(part, target, overwrite: true);
        Verify(target, file);
    }

    static void CopyLines(string from, Stream to, int first, int last)
    {
        using var input = new BufferedStream(File.OpenRead(from), 1 << 16);
        int line = 1, b;
        while (line <= last && (b = input.ReadByte()) >= 0)
        {
            if (line >= first) to.WriteByte((byte)b);
            if (b == '\n') line++;
        }
    }

    /// <summary>Streams <paramref name="url"/> into <paramref name="part"/>, resuming when it already holds a prefix. Returns whether it resumed.</summary>
    bool Transfer(string url, string label, string part, long? expected, IProgress<DownloadProgress>? progress)
    {
        if (unreachable is not null) throw new InvalidInputException(unreachable);
        Directory.CreateDirectory(Path.GetDirectoryName(part)!);
        long have = File.Exists(part) ? new FileInfo(part).Length : 0;
        if (expected is long e && have > e) { AtomicFile.TryDelete(part); have = 0; }
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (have > 0) request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(have, null);
            using var response = http.Value.Send(request, HttpCompletionOption.ResponseHeadersRead);
            if (have > 0 && response.StatusCode == System.Net.HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                AtomicFile.TryDelete(part);
                return Transfer(url, label, part, expected, progress);
            }
            if (!response.IsSuccessStatusCode) throw new InvalidInputException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            bool resumed = have > 0 && response.StatusCode == System.Net.HttpStatusCode.PartialContent;
            if (!resumed) have = 0; // the server sent the whole file: start over
            long? total = response.Content.Headers.ContentLength is long n ? have + n : expected;
            using var body = response.Content.ReadAsStream();
            using var output = new FileStream(part, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            long received = have, fresh = 0;
            var lastReport = TimeSpan.Zero;
            byte[] buffer = new byte[1 << 16];
            int read;
            while ((read = body.Read(buffer)) > 0)
            {
                output.Write(buffer, 0, read);
                received += read;
                fresh += read;
                if (clock.Elapsed - lastReport >= TimeSpan.FromMilliseconds(100))
                {
                    lastReport = clock.Elapsed;
                    progress?.Report(new DownloadProgress(label, received, total, fresh / Math.Max(clock.Elapsed.TotalSeconds, 1e-3)));
                }
            }
            output.Flush(flushToDisk: true);
            progress?.Report(new DownloadProgress(label, received, total, fresh / Math.Max(clock.Elapsed.TotalSeconds, 1e-3)));
            return resumed;
        }
        catch (HttpRequestException ex)
        {
            string reason = InvalidInputException.FirstLine(ex);
            if (ex.StatusCode is null) unreachable = $"network unreachable: {reason}";
            throw new InvalidInputException(unreachable ?? reason, ex);
        }
        catch (IOException ex) when (ex is not FileNotFoundException)
        {
            throw new InvalidInputException($"interrupted ({InvalidInputException.FirstLine(ex)}); {part} is kept and the next attempt resumes it", ex);
        }
        catch (TaskCanceledException ex)
        {
            unreachable = "network unreachable: the connection timed out";
            throw new InvalidInputException(unreachable, ex);
        }
    }
}
