using System.Text.Json;
using System.Text.RegularExpressions;

namespace SharpLM.Data.Catalog;

/// <summary>
/// One file of a public data set: where it lives under a data folder, where it comes from, and the size and
/// SHA-256 it must have before SharpLM reads it.
/// </summary>
/// <param name="Path">Relative path under a data folder, with '/' separators, e.g. "gsm8k/test.jsonl".</param>
/// <param name="Url">Public source, pinned to a commit so the bytes never change under the hash.</param>
/// <param name="Bytes">Size of the stored file in bytes.</param>
/// <param name="Sha256">SHA-256 of the stored file, 64 lower-case hex digits.</param>
/// <param name="Lines">Optional [first, last] (1-based, inclusive): keep only these lines of the download (a slice).</param>
/// <param name="DownloadBytes">Size of the whole download when <paramref name="Lines"/> slices it.</param>
/// <param name="DownloadSha256">SHA-256 of the whole download when <paramref name="Lines"/> slices it.</param>
public sealed record DatasetFile(
    string Path, string Url, long Bytes, string Sha256,
    int[]? Lines = null, long? DownloadBytes = null, string? DownloadSha256 = null)
{
    /// <summary>The path with the platform's separator, to combine with a folder.</summary>
    public string LocalPath => Path.Replace('/', System.IO.Path.DirectorySeparatorChar);
}

/// <summary>A named public data set: one or more files, with what it holds and under which licence.</summary>
/// <param name="Name">The name users type: <c>sharplm data fetch NAME</c>, <c>--data NAME</c>.</param>
/// <param name="Description">What the data set holds, in one line.</param>
/// <param name="Licence">Its licence as its authors state it; check before redistribution or commercial use.</param>
/// <param name="Files">Its files (at least one).</param>
public sealed record Dataset(string Name, string Description, string Licence, IReadOnlyList<DatasetFile> Files)
{
    /// <summary>Total stored size of the data set's files in bytes.</summary>
    public long Bytes => Files.Sum(f => f.Bytes);
}

/// <summary>
/// The list of every public data set SharpLM reads by name (<c>datasets/manifest.json</c>, embedded in the library
/// so the installed tool has it too). Validated on load: every error names the data set or file and the field.
/// </summary>
public sealed partial class DatasetManifest
{
    const string ResourceName = "SharpLM.Datasets.manifest.json";
    static readonly Lazy<DatasetManifest> builtIn = new(() =>
    {
        using var stream = typeof(DatasetManifest).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from the build");
        return Parse(new StreamReader(stream).ReadToEnd(), "datasets/manifest.json");
    });

    readonly Dictionary<string, Dataset> byName;
    readonly Dictionary<string, (Dataset Dataset, DatasetFile File)> byPath;

    /// <summary>Builds a manifest from data sets, checking that names and paths are unique.</summary>
    public DatasetManifest(IEnumerable<Dataset> datasets, string source = "manifest")
    {
        Datasets = datasets.ToList();
        byName = new(StringComparer.Ordinal);
        byPath = new(StringComparer.Ordinal);
        foreach (var set in Datasets)
        {
            if (!byName.TryAdd(set.Name, set)) throw new InvalidInputException($"{source}: data set '{set.Name}' is listed twice");
            foreach (var file in set.Files)
                if (!byPath.TryAdd(file.Path, (set, file)))
                    throw new InvalidInputException($"{source}: file '{file.Path}' belongs to two data sets");
        }
    }

    /// <summary>The manifest shipped with the library.</summary>
    public static DatasetManifest BuiltIn => builtIn.Value;

    /// <summary>The data sets in manifest order.</summary>
    public IReadOnlyList<Dataset> Datasets { get; }

    /// <summary>The data set called <paramref name="name"/>, or null.</summary>
    public Dataset? Find(string name) => byName.GetValueOrDefault(name);

    /// <summary>The data set called <paramref name="name"/>; an unknown name is an error that lists the known ones.</summary>
    public Dataset Get(string name) => Find(name)
        ?? throw new InvalidInputException($"unknown data set '{name}' (known: {string.Join(", ", byName.Keys)})");

    /// <summary>The manifest entry of a relative file path such as "gsm8k/test.jsonl", or null when none lists it.</summary>
    public (Dataset Dataset, DatasetFile File)? FindFile(string relativePath)
    {
        string key = relativePath.Replace('\\', '/').TrimStart('/');
        return byPath.TryGetValue(key, out var hit) ? hit : null;
    }

    /// <summary>Parses and validates manifest JSON; <paramref name="source"/> names it in errors.</summary>
    public static DatasetManifest Parse(string json, string source)
    {
        JsonElement root;
        try { root = JsonDocument.Parse(json).RootElement; }
        catch (JsonException e) { throw InvalidInputException.ForFile(source, $"malformed JSON: {InvalidInputException.FirstLine(e)}", e); }
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("datasets", out var sets) || sets.ValueKind != JsonValueKind.Array)
            throw InvalidInputException.ForFile(source, "expected an object with a \"datasets\" array");
        var datasets = new List<Dataset>();
        int index = 0;
        foreach (var set in sets.EnumerateArray())
        {
            string where = $"{source}: datasets[{index++}]";
            string name = Text(set, "name", where);
            where = $"{source}: data set '{name}'";
            if (!NamePattern().IsMatch(name)) throw new InvalidInputException($"{where}: field 'name' must be lower-case letters, digits, '-' or '_'");
            if (!set.TryGetProperty("files", out var files) || files.ValueKind != JsonValueKind.Array || files.GetArrayLength() == 0)
                throw new InvalidInputException($"{where}: field 'files' must be a non-empty array");
            var parsed = new List<DatasetFile>();
            int fileIndex = 0;
            foreach (var file in files.EnumerateArray()) parsed.Add(ParseFile(file, $"{where}: files[{fileIndex++}]"));
            datasets.Add(new Dataset(name, Text(set, "description", where), Text(set, "licence", where), parsed));
        }
        return new DatasetManifest(datasets, source);
    }

    static DatasetFile ParseFile(JsonElement file, string where)
    {
        string path = Text(file, "path", where);
        if (path.Contains('\\') || path.StartsWith('/') || path.Split('/').Any(p => p is "" or "." or ".."))
            throw new InvalidInputException($"{where}: field 'path' must be a relative path with '/' separators and no '..' ('{path}')");
        where = $"{where} ({path})";
        string url = Text(file, "url", where);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            throw new InvalidInputException($"{where}: field 'url' must be an http(s) URL");
        long bytes = Number(file, "bytes", where);
        string sha = Hash(file, "sha256", where);
        int[]? lines = null;
        long? downloadBytes = null;
        string? downloadSha = null;
        if (file.TryGetProperty("lines", out var l))
        {
            if (l.ValueKind != JsonValueKind.Array || l.GetArrayLength() != 2 || l.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.Number))
                throw new InvalidInputException($"{where}: field 'lines' must be [first, last]");
            lines = l.EnumerateArray().Select(x => x.GetInt32()).ToArray();
            if (lines[0] < 1 || lines[1] < lines[0]) throw new InvalidInputException($"{where}: field 'lines' must have 1 ≤ first ≤ last");
            downloadBytes = Number(file, "download_bytes", where);
            downloadSha = Hash(file, "download_sha256", where);
        }
        foreach (var property in file.EnumerateObject())
            if (property.Name is not ("path" or "url" or "bytes" or "sha256" or "lines" or "download_bytes" or "download_sha256"))
                throw new InvalidInputException($"{where}: unknown field '{property.Name}'");
        return new DatasetFile(path, url, bytes, sha, lines, downloadBytes, downloadSha);
    }

    static string Text(JsonElement e, string field, string where) =>
        e.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s
            ? s : throw new InvalidInputException($"{where}: field '{field}' must be a non-empty string");

    static long Number(JsonElement e, string field, string where) =>
        e.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n) && n > 0
            ? n : throw new InvalidInputException($"{where}: field '{field}' must be a positive integer");

    static string Hash(JsonElement e, string field, string where)
    {
        string s = Text(e, field, where);
        return HashPattern().IsMatch(s) ? s : throw new InvalidInputException($"{where}: field '{field}' must be 64 lower-case hex digits");
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*$")] private static partial Regex NamePattern();
    [GeneratedRegex("^[0-9a-f]{64}$")] private static partial Regex HashPattern();
}
