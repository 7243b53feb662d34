using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Checkpoints;

/// <summary>The element types SharpLM reads and writes in safetensors files, with their header names and sizes.</summary>
public static class SafetensorsDtype
{
    static readonly (string Name, ScalarType Type, int Size)[] Known =
    [
        ("F32", ScalarType.Float32, 4), ("F16", ScalarType.Float16, 2), ("BF16", ScalarType.BFloat16, 2),
        ("F64", ScalarType.Float64, 8), ("I64", ScalarType.Int64, 8), ("I32", ScalarType.Int32, 4),
        ("I16", ScalarType.Int16, 2), ("I8", ScalarType.Int8, 1), ("U8", ScalarType.Byte, 1), ("BOOL", ScalarType.Bool, 1),
    ];

    /// <summary>The header name of <paramref name="type"/> ("F32", "BF16", …).</summary>
    /// <exception cref="InvalidInputException">A type safetensors has no name for here.</exception>
    public static string Name(ScalarType type) =>
        Known.FirstOrDefault(k => k.Type == type).Name ?? throw new InvalidInputException($"safetensors: dtype {type} is not supported");

    /// <summary>The scalar type and element size of header name <paramref name="name"/>, or null when unknown.</summary>
    public static (ScalarType Type, int Size)? Parse(string name) =>
        Known.FirstOrDefault(k => k.Name == name) is { Name: not null } k ? (k.Type, k.Size) : null;
}

/// <summary>One tensor's entry in a safetensors header: its dtype, shape and byte range within the data block.</summary>
public sealed record SafetensorsEntry(string Name, ScalarType Dtype, long[] Shape, long Begin, long End)
{
    /// <summary>Elements: the product of the shape (1 for a scalar).</summary>
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// A safetensors file (Hugging Face's weight format: an 8-byte little-endian header length, a JSON header naming
/// each tensor's dtype, shape and byte range, then the raw little-endian data), opened by memory map. Never a
/// pickle. Everything in the header is checked before a byte of data is read, as the reference implementation
/// checks it: the header fits in the file, is one JSON object, every dtype is known, every shape is a list of
/// non-negative integers, every range lies in the data block with exactly dtype × shape bytes, and the ranges
/// cover the data block without gaps or overlaps. A file that fails any check is an
/// <see cref="InvalidInputException"/> naming the file and the problem.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>The largest header read (the reference implementation's limit): a forged length cannot make us allocate more.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    readonly Dictionary<string, SafetensorsEntry> byName;
    readonly MemoryMappedFile? map;
    readonly long dataStart;

    /// <summary>The file's path.</summary>
    public string Path { get; }
    /// <summary>The tensors, in the order of their data.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }
    /// <summary>The header's <c>__metadata__</c> (string to string), empty when absent.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    SafetensorsFile(string path, IReadOnlyList<SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata, long dataStart, long dataLength)
    {
        Path = path;
        Entries = entries;
        byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        Metadata = metadata;
        this.dataStart = dataStart;
        if (dataLength > 0) map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
    }

    /// <summary>Opens and validates <paramref name="path"/>; no tensor data is read yet.</summary>
    /// <exception cref="InvalidInputException">The file is missing or fails a check (the message names both).</exception>
    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException($"{path}: no such safetensors file");
        long length = new FileInfo(path).Length;
        byte[] header;
        using (var stream = File.OpenRead(path))
        {
            if (length < 8) throw new InvalidInputException($"{path}: {length} bytes is too short for a safetensors file (8-byte header length first)");
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            ulong n = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (n > MaxHeaderBytes) throw new InvalidInputException($"{path}: header length {n} exceeds the limit of {MaxHeaderBytes} bytes");
            if ((long)n > length - 8) throw new InvalidInputException($"{path}: header length {n} runs past the end of the file ({length} bytes)");
            header = new byte[n];
            stream.ReadExactly(header);
        }
        long dataStart = 8 + header.Length, dataLength = length - dataStart;
        var (entries, metadata) = ParseHeader(path, header, dataLength);
        return new SafetensorsFile(path, entries, metadata, dataStart, dataLength);
    }

    static (List<SafetensorsEntry>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(header);
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidInputException($"{path}: header is not UTF-8");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw InvalidInputException.ForFile(path, $"header is not valid JSON ({InvalidInputException.FirstLine(e)})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{path}: header must be a JSON object, not {doc.RootElement.ValueKind}");
            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name)) throw new InvalidInputException($"{path}: tensor '{property.Name}' appears twice in the header");
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{path}: __metadata__ must be an object of strings");
                    foreach (var m in property.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : throw new InvalidInputException($"{path}: __metadata__.{m.Name} must be a string");
                    continue;
                }
                entries.Add(ParseEntry(path, property, dataLength));
            }
            entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long expected = 0;
            foreach (var e in entries)
            {
                if (e.Begin != expected)
                    throw new InvalidInputException(e.Begin < expected
                        ? $"{path}: tensor '{e.Name}' (bytes {e.Begin}–{e.End}) overlaps the tensor before it"
                        : $"{path}: bytes {expected}–{e.Begin} of the data block belong to no tensor (before '{e.Name}')");
                expected = e.End;
            }
            if (expected != dataLength) throw new InvalidInputException($"{path}: the tensors cover {expected} bytes, but the data block has {dataLength}");
            return (entries, metadata);
        }
    }

    static SafetensorsEntry ParseEntry(string path, JsonProperty property, long dataLength)
    {
        string name = property.Name, where = $"{path}: tensor '{name}'";
        var v = property.Value;
        if (v.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{where} must be an object with dtype, shape and data_offsets");
        if (!v.TryGetProperty("dtype", out var dtypeJson) || dtypeJson.ValueKind != JsonValueKind.String) throw new InvalidInputException($"{where}: dtype missing or not a string");
        var dtype = SafetensorsDtype.Parse(dtypeJson.GetString()!) ?? throw new InvalidInputException($"{where}: dtype '{dtypeJson.GetString()}' is not supported");
        if (!v.TryGetProperty("shape", out var shapeJson) || shapeJson.ValueKind != JsonValueKind.Array) throw new InvalidInputException($"{where}: shape missing or not a list");
        var shape = new List<long>();
        long elements = 1;
        foreach (var d in shapeJson.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long size) || size < 0) throw new InvalidInputException($"{where}: shape holds {d}, not a non-negative integer");
            if (size > 0 && elements > long.MaxValue / size) throw new InvalidInputException($"{where}: shape [{string.Join(", ", shape.Append(size))}] has too many elements");
            elements *= size;
            shape.Add(size);
        }
        if (!v.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new InvalidInputException($"{where}: data_offsets missing or not [begin, end]");
        long[] range = offsets.EnumerateArray().Select(o => o.ValueKind == JsonValueKind.Number && o.TryGetInt64(out long x) && x >= 0 ? x : -1).ToArray();
        if (range[0] < 0 || range[1] < 0) throw new InvalidInputException($"{where}: data_offsets must be non-negative integers");
        if (range[1] < range[0]) throw new InvalidInputException($"{where}: data_offsets end {range[1]} is before begin {range[0]}");
        if (range[1] > dataLength) throw new InvalidInputException($"{where}: data_offsets end {range[1]} is past the data block ({dataLength} bytes)");
        if (elements > long.MaxValue / dtype.Size) throw new InvalidInputException($"{where}: shape [{string.Join(", ", shape)}] of {dtypeJson.GetString()} is too large");
        if (range[1] - range[0] != elements * dtype.Size)
            throw new InvalidInputException($"{where}: {range[1] - range[0]} bytes for shape [{string.Join(", ", shape)}] of {dtypeJson.GetString()} (needs {elements * dtype.Size})");
        return new SafetensorsEntry(name, dtype.Type, shape.ToArray(), range[0], range[1]);
    }

    /// <summary>The entry named <paramref name="name"/>.</summary>
    /// <exception cref="InvalidInputException">No such tensor in the file.</exception>
    public SafetensorsEntry this[string name] =>
        byName.TryGetValue(name, out var entry) ? entry : throw new InvalidInputException($"{Path}: no tensor '{name}'");

    /// <summary>
    /// Tensor <paramref name="name"/>, copied from the map into a new CPU tensor of its own dtype, or converted to
    /// <paramref name="dtype"/>.
    /// </summary>
    public Tensor Read(string name, ScalarType? dtype = null)
    {
        var e = this[name];
        var t = empty(e.Shape, e.Dtype);
        ReadInto(name, t);
        if (dtype is { } to && to != e.Dtype)
        {
            var converted = t.to(to);
            t.Dispose();
            return converted;
        }
        return t;
    }

    /// <summary>Bytes mapped at a time: a chunk is unmapped once copied, so reading a model never holds it twice.</summary>
    const long ChunkBytes = 4L << 20;

    /// <summary>Rows of dimension 0 that fit in one mapped chunk (at least one).</summary>
    public long RowsPerChunk(string name)
    {
        var e = this[name];
        long rowBytes = e.Shape.Length == 0 ? e.End - e.Begin : (e.End - e.Begin) / Math.Max(1, e.Shape[0]);
        return Math.Max(1, ChunkBytes / Math.Max(1, rowBytes));
    }

    /// <summary>
    /// Copies tensor <paramref name="name"/> into <paramref name="target"/> (contiguous, CPU, of the stored dtype and
    /// element count), a chunk of the file mapped at a time: the mapped pages leave the process as each chunk is done,
    /// so loading a model costs its own memory and not the file's again.
    /// </summary>
    /// <exception cref="ArgumentException">The target's dtype, size or layout does not fit the entry.</exception>
    public void ReadInto(string name, Tensor target)
    {
        var e = this[name];
        if (target.dtype != e.Dtype || target.numel() != e.Elements || !target.is_contiguous())
            throw new ArgumentException($"tensor '{name}' ({e.Dtype}, {e.Elements} elements) cannot be read into a {(target.is_contiguous() ? "" : "non-contiguous ")}{target.dtype} tensor of {target.numel()} elements");
        using var flat = target.view(-1);
        Copy(e, 0, e.Elements, flat);
    }

    /// <summary>
    /// Rows <paramref name="start"/> … start+count−1 of tensor <paramref name="name"/> (along dimension 0) as a new tensor
    /// of the stored dtype: how a loader that must transpose or convert reads a large tensor a band at a time.
    /// </summary>
    public Tensor ReadRows(string name, long start, long count)
    {
        var e = this[name];
        if (e.Shape.Length == 0 || start < 0 || count < 0 || start + count > e.Shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"rows {start}…{start + count - 1} of tensor '{name}' [{string.Join(", ", e.Shape)}]");
        long rowElements = e.Shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        var t = empty([count, .. e.Shape.Skip(1)], e.Dtype);
        using var flat = t.view(-1);
        Copy(e, start * rowElements, count * rowElements, flat);
        return t;
    }

    /// <summary>Copies elements [first, first + count) of <paramref name="e"/> into the contiguous 1-D <paramref name="destination"/>.</summary>
    void Copy(SafetensorsEntry e, long first, long count, Tensor destination)
    {
        if (count == 0 || e.End == e.Begin) return;
        long size = (e.End - e.Begin) / e.Elements, chunk = Math.Max(1, ChunkBytes / size);
        for (long at = 0; at < count; at += chunk)
        {
            long n = Math.Min(chunk, count - at);
            using var view = map!.CreateViewAccessor(dataStart + e.Begin + (first + at) * size, n * size, MemoryMappedFileAccess.Read);
            using var part = destination.narrow(0, at, n);
            unsafe
            {
                byte* source = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref source);
                try
                {
                    part.bytes = new Span<byte>(source + view.PointerOffset, (int)(n * size)); // the setter copies; the map is only read
                }
                finally
                {
                    view.SafeMemoryMappedViewHandle.ReleasePointer();
                }
            }
        }
    }

    /// <summary>Releases the map.</summary>
    public void Dispose()
    {
        map?.Dispose();
    }
}

/// <summary>Writes safetensors files as Hugging Face's library does: header padded with spaces to 8 bytes, data in header order.</summary>
public static class SafetensorsWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> (CPU or not; each copied to CPU, contiguous) with optional string
    /// <paramref name="metadata"/> to <paramref name="path"/> atomically (temporary file, then rename).
    /// </summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        IO.AtomicFile.Write(path, stream => Write(stream, tensors, metadata, path));

    /// <summary>Writes the file's bytes to <paramref name="stream"/> (a caller that writes atomically and hashes, as a checkpoint does).</summary>
    public static void Write(Stream stream, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null, string? path = null)
    {
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in list)
            if (name == "__metadata__" || !names.Add(name)) throw new InvalidInputException($"{path ?? "safetensors"}: tensor name '{name}' is reserved or repeated");
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var (name, t) in list)
        {
            long bytes = t.numel() * t.ElementSize;
            header[name] = new { dtype = SafetensorsDtype.Name(t.dtype), shape = t.shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        Span<byte> length = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        stream.Write(length);
        stream.Write(json);
        for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var (_, t) in list)
        {
            using var scope = NewDisposeScope();
            var cpu = t.detach().to(CPU).contiguous();
            long bytes = cpu.numel() * cpu.ElementSize;
            if (bytes == 0) continue;
            // In slices: a span's length is an int, and a tensor may hold more than 2 GB.
            var flat = cpu.view(-1);
            long size = cpu.ElementSize, chunk = Math.Max(1, (1L << 30) / size);
            for (long at = 0; at < flat.numel(); at += chunk)
                stream.Write(flat.narrow(0, at, Math.Min(chunk, flat.numel() - at)).bytes);
        }
    }
}
