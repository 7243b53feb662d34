using System.Text.Json;
using static TorchSharp.torch;

namespace SharpLM.Checkpoints;

/// <summary>
/// The weights of a Hugging Face folder: one <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c> (<c>{"metadata": {...}, "weight_map": {tensor: shard file}}</c>), as
/// <c>save_pretrained</c> writes them. Opening checks every shard's header (<see cref="SafetensorsFile"/>) and the
/// index against them: shard names are plain file names in the folder, every mapped tensor is in its shard, and every
/// tensor of a shard is mapped to it — so a read never meets a missing or ambiguous tensor.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    /// <summary>The single-file name.</summary>
    public const string SingleFile = "model.safetensors";
    /// <summary>The index of a sharded checkpoint.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    readonly Dictionary<string, SafetensorsFile> byTensor;
    readonly List<SafetensorsFile> files;

    SafetensorsCheckpoint(List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> byTensor)
    {
        this.files = files;
        this.byTensor = byTensor;
    }

    /// <summary>Every tensor's name, in shard and data order.</summary>
    public IEnumerable<string> Names => files.SelectMany(f => f.Entries).Select(e => e.Name);

    /// <summary>The header entry of <paramref name="name"/>.</summary>
    /// <exception cref="InvalidInputException">No such tensor.</exception>
    public SafetensorsEntry this[string name] => File(name)[name];

    /// <summary>Tensor <paramref name="name"/> as a new CPU tensor (converted to <paramref name="dtype"/> when given).</summary>
    public Tensor Read(string name, ScalarType? dtype = null) => File(name).Read(name, dtype);

    /// <summary>Copies tensor <paramref name="name"/> into <paramref name="target"/> (<see cref="SafetensorsFile.ReadInto"/>).</summary>
    public void ReadInto(string name, Tensor target) => File(name).ReadInto(name, target);

    /// <summary>A band of rows of tensor <paramref name="name"/> (<see cref="SafetensorsFile.ReadRows"/>).</summary>
    public Tensor ReadRows(string name, long start, long count) => File(name).ReadRows(name, start, count);

    /// <summary>Rows of tensor <paramref name="name"/> that fit in one mapped chunk.</summary>
    public long RowsPerChunk(string name) => File(name).RowsPerChunk(name);

    /// <summary>True when the checkpoint holds <paramref name="name"/>.</summary>
    public bool Contains(string name) => byTensor.ContainsKey(name);

    SafetensorsFile File(string name) =>
        byTensor.TryGetValue(name, out var file) ? file : throw new InvalidInputException($"{files[0].Path}: no tensor '{name}' in the checkpoint");

    /// <summary>True when <paramref name="dir"/> holds safetensors weights (a single file or an index).</summary>
    public static bool IsCheckpoint(string dir) =>
        System.IO.File.Exists(System.IO.Path.Combine(dir, IndexFile)) || System.IO.File.Exists(System.IO.Path.Combine(dir, SingleFile));

    /// <summary>Opens the weights in <paramref name="dir"/>: the index and its shards when there is an index, else model.safetensors.</summary>
    /// <exception cref="InvalidInputException">No weights, or a file fails a check (the message names it).</exception>
    public static SafetensorsCheckpoint Open(string dir)
    {
        string index = System.IO.Path.Combine(dir, IndexFile), single = System.IO.Path.Combine(dir, SingleFile);
        if (!System.IO.File.Exists(index))
        {
            if (!System.IO.File.Exists(single)) throw new InvalidInputException($"{dir}: no {SingleFile} or {IndexFile}");
            var file = SafetensorsFile.Open(single);
            return new SafetensorsCheckpoint([file], file.Entries.ToDictionary(e => e.Name, _ => file, StringComparer.Ordinal));
        }
        var map = ReadIndex(index);
        foreach (var (tensor, shard) in map)
            if (!System.IO.File.Exists(System.IO.Path.Combine(dir, shard))) throw new InvalidInputException($"{index}: weight_map.{tensor}: {shard} does not exist");
        var files = new List<SafetensorsFile>();
        try
        {
            var byTensor = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (string shard in map.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                var file = SafetensorsFile.Open(System.IO.Path.Combine(dir, shard));
                files.Add(file);
                foreach (var e in file.Entries)
                {
                    if (!map.TryGetValue(e.Name, out string? mapped)) throw new InvalidInputException($"{file.Path}: tensor '{e.Name}' is not in {IndexFile}");
                    if (mapped != shard) throw new InvalidInputException($"{file.Path}: tensor '{e.Name}' is mapped to {mapped} in {IndexFile}");
                    byTensor[e.Name] = file;
                }
            }
            foreach (var (tensor, shard) in map)
                if (!byTensor.ContainsKey(tensor)) throw new InvalidInputException($"{index}: weight_map.{tensor}: {shard} has no such tensor");
            return new SafetensorsCheckpoint(files, byTensor);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    static Dictionary<string, string> ReadIndex(string path)
    {
        using (var doc = Runtime.Json.ReadDocument(path))
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var weightMap) || weightMap.ValueKind != JsonValueKind.Object)
                throw new InvalidInputException($"{path}: weight_map missing or not an object");
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in weightMap.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw new InvalidInputException($"{path}: weight_map.{p.Name} must be a file name");
                string shard = p.Value.GetString()!;
                // A shard is a file beside the index: no directories, so a forged index cannot reach other files.
                if (shard.Length == 0 || shard != System.IO.Path.GetFileName(shard) || shard is "." or ".." || shard.Contains('\\') || !shard.EndsWith(".safetensors", StringComparison.Ordinal))
                    throw new InvalidInputException($"{path}: weight_map.{p.Name}: '{shard}' is not a .safetensors file name in the folder");
                if (!map.TryAdd(p.Name, shard)) throw new InvalidInputException($"{path}: weight_map.{p.Name} appears twice");
            }
            if (map.Count == 0) throw new InvalidInputException($"{path}: weight_map is empty");
            return map;
        }
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> into <paramref name="dir"/> as <c>save_pretrained</c> does: one
    /// model.safetensors when they fit in <paramref name="maxShardBytes"/>, else shards
    /// <c>model-0000i-of-0000n.safetensors</c> of at most that size (a larger tensor gets a shard of its own) and the
    /// index with <c>metadata.total_size</c>. Each file is written atomically; the index last.
    /// </summary>
    public static void Write(string dir, IReadOnlyList<(string Name, Tensor Tensor)> tensors, long maxShardBytes = 5_000_000_000, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (maxShardBytes < 1) throw new InvalidInputException($"max shard size {maxShardBytes}: must be positive");
        Directory.CreateDirectory(dir);
        var shards = new List<List<(string Name, Tensor Tensor)>> { new() };
        long inShard = 0, total = 0;
        foreach (var item in tensors)
        {
            long bytes = item.Tensor.numel() * item.Tensor.ElementSize;
            if (shards[^1].Count > 0 && inShard + bytes > maxShardBytes)
            {
                shards.Add(new());
                inShard = 0;
            }
            shards[^1].Add(item);
            inShard += bytes;
            total += bytes;
        }
        if (shards.Count == 1)
        {
            SafetensorsWriter.Write(System.IO.Path.Combine(dir, SingleFile), tensors, metadata);
            RemoveStale(dir, new HashSet<string> { SingleFile });
            return;
        }
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
        {
            string name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafetensorsWriter.Write(System.IO.Path.Combine(dir, name), shards[i], metadata);
            foreach (var (tensor, _) in shards[i]) weightMap[tensor] = name;
        }
        IO.AtomicFile.WriteAllText(System.IO.Path.Combine(dir, IndexFile), JsonSerializer.Serialize(
            new { metadata = new { total_size = total }, weight_map = weightMap }, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        RemoveStale(dir, weightMap.Values.Append(IndexFile).ToHashSet());
    }

    /// <summary>After the new weights are complete: removes weights an earlier save left that the new ones do not use
    /// (a single file beside a new index would be ignored; an old index would win over a new single file).</summary>
    static void RemoveStale(string dir, IReadOnlySet<string> keep)
    {
        var stale = Directory.EnumerateFiles(dir, "model-*-of-*.safetensors").Select(System.IO.Path.GetFileName)
            .Append(SingleFile).Append(IndexFile).Where(f => !keep.Contains(f!));
        foreach (string? file in stale) System.IO.File.Delete(System.IO.Path.Combine(dir, file!));
    }

    /// <summary>Releases every shard's map.</summary>
    public void Dispose()
    {
        foreach (var f in files) f.Dispose();
    }
}
