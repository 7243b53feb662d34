using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SharpLM.Data.Catalog;

namespace SharpLM.Evaluation.Harness;

/// <summary>
/// A task's documents as JSON objects, and a hash of the files they came from (reported beside the scores, so two
/// results can be checked to come from the same data). A relative path is a data set file of the manifest (e.g.
/// "gsm8k/test.jsonl"), resolved and verified by a <see cref="DataStore"/>. Task files come from strangers and
/// what they name ends up in prompts (sent to remote endpoints) and samples.jsonl, so an absolute path or one with
/// ".." segments (/proc/self/environ, ../../.aws/credentials) is refused unless the run allows any path.
/// A file may hold, and a gzipped one decompress to, at most <see cref="MaxDecompressedBytes"/>.
/// </summary>
public sealed class TaskDataset
{
    TaskDataset(IReadOnlyList<JsonElement> documents, string hash) => (Documents, Hash) = (documents, hash);

    /// <summary>The documents, one JSON object each (a .txt file is one document with a "text" field).</summary>
    public IReadOnlyList<JsonElement> Documents { get; }
    /// <summary>"sha256:" and the first 16 hex digits of the SHA-256 over the dataset's files.</summary>
    public string Hash { get; }

    /// <summary>Most bytes a dataset or prompt file may hold, or a gzipped one decompress to (a few KB of gzip can expand to terabytes).</summary>
    public const long MaxDecompressedBytes = 1L << 30;

    /// <summary>Loads the documents of <paramref name="task"/>, resolving relative paths through <paramref name="store"/> (default: <see cref="DataStore.Default"/>).</summary>
    /// <param name="task">The task whose data set is loaded.</param>
    /// <param name="store">Resolves relative paths (default: <see cref="DataStore.Default"/>).</param>
    /// <param name="allowAnyPath">Read absolute paths and paths with ".." as they are (only for task files one trusts).</param>
    public static TaskDataset Load(TaskConfig task, DataStore? store = null, bool allowAnyPath = false)
    {
        var spec = task.Dataset;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        List<JsonElement> documents;
        if (spec.Parallel is { Count: > 0 } parallel)
        {
            var columns = parallel.ToDictionary(kv => kv.Key, kv => ReadLines(ResolvePath(task, kv.Value, $"dataset.parallel.{kv.Key}", store, allowAnyPath), sha));
            int count = columns.Values.First().Length;
            if (columns.Values.Any(c => c.Length != count))
                throw new InvalidInputException($"{task.Task}: parallel files have different line counts ({string.Join(", ", columns.Select(c => $"{c.Key} {c.Value.Length}"))})");
            documents = Enumerable.Range(0, count).Select(i => JsonSerializer.SerializeToElement(columns.ToDictionary(c => c.Key, c => c.Value[i]))).ToList();
        }
        else if (spec.Path is string file)
        {
            string path = ResolvePath(task, file, "dataset.path", store, allowAnyPath);
            byte[] bytes = ReadBounded(path);
            sha.AppendData(bytes);
            documents = Parse(path, bytes, spec);
        }
        else throw new InvalidInputException($"{task.Task}: dataset needs 'path' or 'parallel'");
        if (documents.Count == 0) throw new InvalidInputException($"{task.Task}: the dataset has no documents");
        return new TaskDataset(documents, "sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset())[..16]);
    }

    /// <summary>
    /// A path named by field <paramref name="field"/> of a task file: relative through the data store (which keeps
    /// it inside its mirrors); absolute or with ".." only when <paramref name="allowAnyPath"/>, then read as it is.
    /// </summary>
    internal static string ResolvePath(TaskConfig task, string file, string field, DataStore? store, bool allowAnyPath)
    {
        if (!DataStore.EscapesRoot(file)) return (store ?? DataStore.Default).ResolveFile(file);
        if (!allowAnyPath)
            throw InvalidInputException.ForFile(file, $"task {task.Task}, {field}: absolute paths and '..' are refused in task files (they could read any file into prompts); pass --allow-any-path for a task file you trust");
        return File.Exists(file) ? file : throw InvalidInputException.ForFile(file, $"dataset of task {task.Task} not found");
    }

    static string[] ReadLines(string path, IncrementalHash sha)
    {
        byte[] bytes = ReadBounded(path);
        sha.AppendData(bytes);
        return Decompress(path, bytes).TrimEnd('\n').Split('\n');
    }

    /// <summary>
    /// The file's bytes, at most <see cref="MaxDecompressedBytes"/> of them: the length is checked first for a regular
    /// file, and a device or pipe (no length; /dev/zero never ends) is read only up to the cap.
    /// </summary>
    internal static byte[] ReadBounded(string path)
    {
        string TooLarge() => $"larger than {MaxDecompressedBytes >> 20} MiB, the most a task dataset or prompt file may";
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        if (stream.CanSeek && stream.Length > MaxDecompressedBytes) throw InvalidInputException.ForFile(path, TooLarge());
        var buffer = new MemoryStream();
        byte[] chunk = new byte[1 << 16];
        for (int n; (n = stream.Read(chunk)) > 0;)
        {
            if (buffer.Length + n > MaxDecompressedBytes) throw InvalidInputException.ForFile(path, TooLarge());
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    static string Decompress(string path, byte[] bytes)
    {
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return Encoding.UTF8.GetString(bytes);
        try
        {
            // Measure first in constant memory, so a bomb is refused without holding what it expands to.
            long size = 0;
            byte[] buffer = new byte[1 << 16];
            using (var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress))
                for (int n; (n = gz.Read(buffer)) > 0;)
                    if ((size += n) > MaxDecompressedBytes)
                        throw InvalidInputException.ForFile(path, $"decompresses to more than {MaxDecompressedBytes >> 20} MiB, the most a task dataset may (a gzip bomb, or the wrong file)");
            using var again = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            return new StreamReader(again, Encoding.UTF8).ReadToEnd();
        }
        catch (InvalidDataException e) { throw InvalidInputException.ForFile(path, $"not valid gzip: {InvalidInputException.FirstLine(e)}", e); }
    }

    static List<JsonElement> Parse(string path, byte[] bytes, DatasetSpec spec)
    {
        string text = Decompress(path, bytes);
        string name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        try
        {
            if (name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
                return text.Split('\n').Where(l => !string.IsNullOrWhiteSpace(l)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            if (name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                var root = JsonDocument.Parse(text).RootElement;
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("examples", out var examples)) root = examples; // BIG-bench layout
                if (root.ValueKind != JsonValueKind.Array) throw InvalidInputException.ForFile(path, "expected a JSON array or an object with \"examples\"");
                return root.EnumerateArray().ToList();
            }
        }
        catch (JsonException e) { throw InvalidInputException.ForFile(path, $"malformed JSON: {InvalidInputException.FirstLine(e)}", e); }
        if (name.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
        {
            // One document, optionally a character range of the file (the validation split of a pre-training corpus).
            if (spec.Slice is { } slice)
            {
                if (slice is not [double from, double to] || from < 0 || from >= to || to > 1)
                    throw InvalidInputException.ForFile(path, "dataset slice must be [from, to] with 0 ≤ from < to ≤ 1");
                int start = (int)(text.Length * from), end = (int)(text.Length * to);
                // Never cut a surrogate pair in half.
                if (start > 0 && char.IsLowSurrogate(text[start])) start++;
                if (end < text.Length && char.IsLowSurrogate(text[end])) end++;
                text = text[start..end];
            }
            return [JsonSerializer.SerializeToElement(new { text })];
        }
        throw InvalidInputException.ForFile(path, "unknown dataset format (.jsonl, .json or .txt, optionally .gz)");
    }
}
