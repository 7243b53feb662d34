using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SharpLM.Data.Catalog;

namespace SharpLM.Evaluation.Harness;

/// <summary>
/// A task's documents as JSON objects, and a hash of the files they came from (reported beside the scores, so two
/// results can be checked to come from the same data). A relative path is a data set file of the manifest (e.g.
/// "gsm8k/test.jsonl"), resolved and verified by a <see cref="DataStore"/>; an absolute path is read as it is.
/// </summary>
public sealed class TaskDataset
{
    TaskDataset(IReadOnlyList<JsonElement> documents, string hash) => (Documents, Hash) = (documents, hash);

    /// <summary>The documents, one JSON object each (a .txt file is one document with a "text" field).</summary>
    public IReadOnlyList<JsonElement> Documents { get; }
    /// <summary>"sha256:" and the first 16 hex digits of the SHA-256 over the dataset's files.</summary>
    public string Hash { get; }

    /// <summary>Loads the documents of <paramref name="task"/>, resolving relative paths through <paramref name="store"/> (default: <see cref="DataStore.Default"/>).</summary>
    public static TaskDataset Load(TaskConfig task, DataStore? store = null)
    {
        var spec = task.Dataset;
        string Resolve(string file) => ResolvePath(task, file, store);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        List<JsonElement> documents;
        if (spec.Parallel is { Count: > 0 } parallel)
        {
            var columns = parallel.ToDictionary(kv => kv.Key, kv => ReadLines(Resolve(kv.Value), sha));
            int count = columns.Values.First().Length;
            if (columns.Values.Any(c => c.Length != count))
                throw new InvalidInputException($"{task.Task}: parallel files have different line counts ({string.Join(", ", columns.Select(c => $"{c.Key} {c.Value.Length}"))})");
            documents = Enumerable.Range(0, count).Select(i => JsonSerializer.SerializeToElement(columns.ToDictionary(c => c.Key, c => c.Value[i]))).ToList();
        }
        else if (spec.Path is string file)
        {
            string path = Resolve(file);
            byte[] bytes = File.ReadAllBytes(path);
            sha.AppendData(bytes);
            documents = Parse(path, bytes, spec);
        }
        else throw new InvalidInputException($"{task.Task}: dataset needs 'path' or 'parallel'");
        if (documents.Count == 0) throw new InvalidInputException($"{task.Task}: the dataset has no documents");
        return new TaskDataset(documents, "sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset())[..16]);
    }

    /// <summary>A path named by a task file: absolute as it is, relative through the data store.</summary>
    internal static string ResolvePath(TaskConfig task, string file, DataStore? store)
    {
        if (!Path.IsPathRooted(file)) return (store ?? DataStore.Default).ResolveFile(file);
        return File.Exists(file) ? file : throw InvalidInputException.ForFile(file, $"dataset of task {task.Task} not found");
    }

    static string[] ReadLines(string path, IncrementalHash sha)
    {
        byte[] bytes = File.ReadAllBytes(path);
        sha.AppendData(bytes);
        return Decompress(path, bytes).TrimEnd('\n').Split('\n');
    }

    static string Decompress(string path, byte[] bytes)
    {
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return Encoding.UTF8.GetString(bytes);
        using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        return new StreamReader(gz, Encoding.UTF8).ReadToEnd();
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
