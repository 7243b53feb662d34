using System.IO.MemoryMappedFiles;
using System.Text;
using SharpLM.IO;
using static TorchSharp.torch;

namespace SharpLM.Checkpoints;

/// <summary>
/// A GGUF value's type tag (ggml's <c>gguf_type</c>). Metadata values are stored with their tag, so a reader knows a
/// value's size before reading it.
/// </summary>
public enum GgufType : uint
{
#pragma warning disable CS1591 // the names are the format's
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9,
    UInt64 = 10, Int64 = 11, Float64 = 12,
#pragma warning restore CS1591
}

/// <summary>One metadata value: a scalar, a string, or an array of one element type.</summary>
/// <param name="Type">The value's tag.</param>
/// <param name="Value">long / ulong / double / bool / string for scalars, an array (long[], double[], string[], bool[]) for arrays.</param>
/// <param name="ElementType">An array's element tag.</param>
public sealed record GgufValue(GgufType Type, object Value, GgufType ElementType = GgufType.UInt8)
{
#pragma warning disable CS1591 // one constructor per type the writers use
    public static GgufValue U32(long v) => new(GgufType.UInt32, v);
    public static GgufValue F32(double v) => new(GgufType.Float32, v);
    public static GgufValue Str(string v) => new(GgufType.String, v);
    public static GgufValue Boolean(bool v) => new(GgufType.Bool, v);
    public static GgufValue Strings(string[] v) => new(GgufType.Array, v, GgufType.String);
    public static GgufValue Int32s(long[] v) => new(GgufType.Array, v, GgufType.Int32);
#pragma warning restore CS1591
}

/// <summary>A tensor's entry in a GGUF file: its name, shape in PyTorch order (slowest dimension first), ggml type and data range.</summary>
/// <param name="Name">The tensor's name ("blk.0.attn_q.weight").</param>
/// <param name="Shape">The shape as PyTorch sees it; GGUF stores it reversed (ne[0] is the contiguous dimension).</param>
/// <param name="GgmlType">ggml's type number (0 F32, 1 F16, 30 BF16, others quantised).</param>
/// <param name="Offset">Start of the data, relative to the data section.</param>
/// <param name="Bytes">Size of the data.</param>
public sealed record GgufTensor(string Name, long[] Shape, uint GgmlType, long Offset, long Bytes);

/// <summary>
/// The GGUF container (version 3) of llama.cpp: a header, typed metadata, tensor descriptions, and tensor data aligned
/// to <c>general.alignment</c> (32 by default). <see cref="Write"/> lays a file out as ggml's <c>gguf_write_to_file</c>
/// does; <see cref="Open"/> memory-maps one and checks the whole header — counts, string lengths, types, dimensions,
/// offsets inside the file, sizes matching type × shape, no overlaps — before any tensor data is read. Only unquantised
/// tensors (F32, F16, BF16) can be read into tensors; a quantised one is named in the error.
/// </summary>
public sealed class GgufFile : IDisposable
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;
    /// <summary>The format version written (2 and 3 are read: they differ only in byte order support).</summary>
    public const uint Version = 3;
    /// <summary>Alignment of the data section and of every tensor when the file does not set general.alignment.</summary>
    public const int DefaultAlignment = 32;

    // Limits a hostile header cannot make us exceed: they are far above any real model's.
    const long MaxItems = 1 << 24, MaxStringBytes = 1 << 26;
    const uint MaxDims = 4;

    /// <summary>ggml type numbers of the tensor types SharpLM reads and writes, with their element size.</summary>
    static readonly Dictionary<uint, (ScalarType Type, int Size, string Name)> Plain = new()
    {
        [0] = (ScalarType.Float32, 4, "F32"), [1] = (ScalarType.Float16, 2, "F16"), [30] = (ScalarType.BFloat16, 2, "BF16"),
    };

    /// <summary>Names of ggml's quantised types, for errors that say which one a file uses.</summary>
    static readonly Dictionary<uint, string> Quantised = new()
    {
        [2] = "Q4_0", [3] = "Q4_1", [6] = "Q5_0", [7] = "Q5_1", [8] = "Q8_0", [9] = "Q8_1", [10] = "Q2_K", [11] = "Q3_K", [12] = "Q4_K",
        [13] = "Q5_K", [14] = "Q6_K", [15] = "Q8_K", [16] = "IQ2_XXS", [17] = "IQ2_XS", [18] = "IQ3_XXS", [19] = "IQ1_S", [20] = "IQ4_NL",
        [21] = "IQ3_S", [22] = "IQ2_S", [23] = "IQ4_XS", [24] = "I8", [25] = "I16", [26] = "I32", [27] = "I64", [28] = "F64", [29] = "IQ1_M",
    };

    readonly MemoryMappedFile map;
    readonly MemoryMappedViewAccessor view;
    readonly long dataStart;
    readonly Dictionary<string, GgufTensor> byName;

    /// <summary>The file's path, for errors.</summary>
    public string Path { get; }
    /// <summary>The metadata, in file order.</summary>
    public IReadOnlyDictionary<string, GgufValue> Metadata { get; }
    /// <summary>The tensors, in file order.</summary>
    public IReadOnlyList<GgufTensor> Tensors { get; }

    GgufFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, long dataStart, Dictionary<string, GgufValue> metadata, List<GgufTensor> tensors)
    {
        Path = path;
        this.map = map;
        this.view = view;
        this.dataStart = dataStart;
        Metadata = metadata;
        Tensors = tensors;
        byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Whether the file holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>The entry of <paramref name="name"/>.</summary>
    /// <exception cref="InvalidInputException">No such tensor.</exception>
    public GgufTensor this[string name] => byName.TryGetValue(name, out var t) ? t : throw InvalidInputException.ForFile(Path, $"no tensor '{name}'");

    /// <summary>A metadata value of the expected type, or null when absent.</summary>
    /// <exception cref="InvalidInputException">The key holds another type.</exception>
    public T? Get<T>(string key) where T : class
    {
        if (!Metadata.TryGetValue(key, out var v)) return null;
        return v.Value as T ?? throw InvalidInputException.ForFile(Path, $"metadata '{key}' is a {v.Type}{(v.Type == GgufType.Array ? " of " + v.ElementType : "")}, not what SharpLM expects");
    }

    /// <summary>A numeric metadata value (any integer or float type), or <paramref name="fallback"/> when absent (null: required).</summary>
    public double Number(string key, double? fallback = null)
    {
        if (!Metadata.TryGetValue(key, out var v)) return fallback ?? throw InvalidInputException.ForFile(Path, $"metadata '{key}' is missing");
        return v.Value switch
        {
            long l => l, ulong u => u, double d when double.IsFinite(d) => d,
            double d => throw InvalidInputException.ForFile(Path, $"metadata '{key}' is {d}, not a finite number"),
            _ => throw InvalidInputException.ForFile(Path, $"metadata '{key}' must be a number, not a {v.Type}"),
        };
    }

    /// <summary>The first tensor SharpLM cannot read (a quantised type), or null: checked before a loader allocates a model.</summary>
    public string? Unreadable() => Tensors.FirstOrDefault(t => !Plain.ContainsKey(t.GgmlType)) is { } t ? NotReadable(t) : null;

    string NotReadable(GgufTensor t) =>
        $"tensor '{t.Name}' is {TypeName(t.GgmlType)}; SharpLM reads F32, F16 and BF16 tensors (dequantise with llama.cpp's llama-quantize --allow-requantize to F16 first)";

    /// <summary>Reads a tensor (F32, F16 or BF16) into a new tensor of its PyTorch shape, converted to <paramref name="dtype"/> when given.</summary>
    /// <exception cref="InvalidInputException">The tensor is absent or quantised.</exception>
    public Tensor Read(string name, ScalarType? dtype = null)
    {
        var t = this[name];
        if (!Plain.TryGetValue(t.GgmlType, out var type)) throw InvalidInputException.ForFile(Path, NotReadable(t));
        var result = empty(t.Shape, type.Type);
        if (t.Bytes > 0)
            unsafe
            {
                // Straight from the map, in slices: a span's length is an int, and a tensor may hold more than 2 GB.
                byte* source = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref source);
                try
                {
                    source += view.PointerOffset + dataStart + t.Offset;
                    using var flat = result.view(-1);
                    long elements = t.Bytes / type.Size, chunk = (1L << 30) / type.Size;
                    for (long at = 0; at < elements; at += chunk)
                    {
                        long n = Math.Min(chunk, elements - at);
                        using var part = flat.narrow(0, at, n);
                        part.bytes = new Span<byte>(source + at * type.Size, (int)(n * type.Size));
                    }
                }
                finally
                {
                    view.SafeMemoryMappedViewHandle.ReleasePointer();
                }
            }
        if (dtype is not { } d || d == type.Type) return result;
        var converted = result.to(d);
        result.Dispose();
        return converted;
    }

    static string TypeName(uint type) => Plain.TryGetValue(type, out var p) ? p.Name : Quantised.TryGetValue(type, out var q) ? q : $"ggml type {type}";

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="InvalidInputException">Any check fails; the one-line message names the file and the problem.</exception>
    public static GgufFile Open(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "no such file");
        long length = new FileInfo(path).Length;
        if (length < 24) throw InvalidInputException.ForFile(path, $"{length} bytes is too short for a GGUF header");
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        try
        {
            var r = new Reader(view, length, path);
            if (r.U32() != Magic) throw r.Error("not a GGUF file (the first four bytes are not 'GGUF')");
            uint version = r.U32();
            if (version is not (2 or 3)) throw r.Error($"GGUF version {version} is not supported (2, 3)");
            long tensorCount = r.Count("tensor count"), kvCount = r.Count("metadata count");
            var metadata = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
            for (long i = 0; i < kvCount; i++)
            {
                string key = r.String();
                if (!metadata.TryAdd(key, r.Value(key))) throw r.Error($"metadata key '{key}' appears twice");
            }
            long alignment = DefaultAlignment;
            if (metadata.TryGetValue("general.alignment", out var a))
            {
                if (a.Value is not long al || al <= 0 || (al & (al - 1)) != 0) throw r.Error("general.alignment must be a power of two");
                alignment = al;
            }
            var tensors = new List<GgufTensor>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (long i = 0; i < tensorCount; i++)
            {
                string name = r.String();
                if (!names.Add(name)) throw r.Error($"tensor '{name}' appears twice");
                uint dims = r.U32();
                if (dims is 0 or > MaxDims) throw r.Error($"tensor '{name}' has {dims} dimensions (1 to {MaxDims})");
                var ne = new long[dims];
                for (int d = 0; d < dims; d++)
                {
                    ulong n = r.U64();
                    if (n == 0 || n > (ulong)length * 64) throw r.Error($"tensor '{name}' dimension {d} is {n}");
                    ne[d] = (long)n;
                }
                uint type = r.U32();
                ulong offset = r.U64();
                if (!Plain.TryGetValue(type, out var p) && !Quantised.ContainsKey(type)) throw r.Error($"tensor '{name}' has unknown ggml type {type}");
                if (offset % (ulong)alignment != 0) throw r.Error($"tensor '{name}' offset {offset} is not a multiple of the alignment {alignment}");
                long elements = 1;
                foreach (long n in ne) elements = elements > length * 64 / n ? throw r.Error($"tensor '{name}' is larger than the file") : elements * n;
                // A quantised tensor's size depends on its block layout; it is only described, never read, so its
                // range is checked against the file but not against its shape.
                long bytes = p.Size > 0 ? elements * p.Size : 0;
                tensors.Add(new GgufTensor(name, ne.Reverse().ToArray(), type, (long)Math.Min(offset, (ulong)long.MaxValue), bytes));
            }
            long dataStart = (r.Position + alignment - 1) / alignment * alignment;
            long end = 0;
            foreach (var t in tensors.OrderBy(t => t.Offset))
            {
                if (t.Offset < end) throw r.Error($"tensor '{t.Name}' overlaps the tensor before it");
                if (t.Offset > length - dataStart || t.Bytes > length - dataStart - t.Offset)
                    throw r.Error($"tensor '{t.Name}' (bytes {t.Offset} to {t.Offset + t.Bytes} of the data) lies beyond the end of the file");
                end = t.Offset + t.Bytes;
            }
            return new GgufFile(path, map, view, dataStart, metadata, tensors);
        }
        catch
        {
            view.Dispose();
            map.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes a GGUF file atomically: header, <paramref name="metadata"/> in order, tensor descriptions, then each
    /// tensor's bytes (F32, F16 or BF16, contiguous, PyTorch shape) at the next aligned offset.
    /// </summary>
    public static void Write(string path, IReadOnlyList<KeyValuePair<string, GgufValue>> metadata, IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        var types = Plain.ToDictionary(p => p.Value.Type, p => p.Key);
        var layout = new List<(string Name, Tensor Tensor, uint Type, long Offset, long Bytes)>();
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            if (!types.TryGetValue(tensor.dtype, out uint type)) throw new ArgumentException($"tensor '{name}' is {tensor.dtype}; GGUF export writes float32, float16 and bfloat16");
            long bytes = tensor.NumberOfElements * tensor.ElementSize;
            layout.Add((name, tensor, type, offset, bytes));
            offset = (offset + bytes + DefaultAlignment - 1) / DefaultAlignment * DefaultAlignment;
        }
        AtomicFile.Write(path, stream =>
        {
            var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            w.Write(Magic);
            w.Write(Version);
            w.Write((ulong)tensors.Count);
            w.Write((ulong)metadata.Count);
            foreach (var (key, value) in metadata)
            {
                WriteString(w, key);
                w.Write((uint)value.Type);
                WriteValue(w, value);
            }
            foreach (var t in layout)
            {
                WriteString(w, t.Name);
                w.Write((uint)t.Tensor.dim());
                foreach (long n in t.Tensor.shape.Reverse()) w.Write((ulong)n);
                w.Write(t.Type);
                w.Write((ulong)t.Offset);
            }
            w.Flush();
            Pad(stream);
            foreach (var t in layout)
            {
                // From the CPU, in slices of at most 1 GB (a span's length is an int).
                using var flat = t.Tensor.detach().cpu().contiguous().view(-1);
                long chunk = (1L << 30) / flat.ElementSize;
                for (long at = 0; at < flat.NumberOfElements; at += chunk)
                {
                    using var part = flat.narrow(0, at, Math.Min(chunk, flat.NumberOfElements - at));
                    stream.Write(part.bytes);
                }
                Pad(stream);
            }
        });
    }

    static void Pad(Stream stream)
    {
        long pad = (DefaultAlignment - stream.Position % DefaultAlignment) % DefaultAlignment;
        for (long i = 0; i < pad; i++) stream.WriteByte(0);
    }

    static void WriteString(BinaryWriter w, string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }

    static void WriteValue(BinaryWriter w, GgufValue v)
    {
        switch (v.Type)
        {
            case GgufType.UInt32: w.Write(checked((uint)(long)v.Value)); break;
            case GgufType.Int32: w.Write(checked((int)(long)v.Value)); break;
            case GgufType.Float32: w.Write((float)(double)v.Value); break;
            case GgufType.Bool: w.Write((bool)v.Value ? (byte)1 : (byte)0); break;
            case GgufType.String: WriteString(w, (string)v.Value); break;
            case GgufType.Array:
                w.Write((uint)v.ElementType);
                var items = (Array)v.Value;
                w.Write((ulong)items.Length);
                foreach (object item in items) WriteValue(w, new GgufValue(v.ElementType, item));
                break;
            default: throw new ArgumentException($"writing {v.Type} metadata is not implemented");
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        view.Dispose();
        map.Dispose();
    }

    /// <summary>A bounds-checked cursor over the mapped header.</summary>
    sealed class Reader(MemoryMappedViewAccessor view, long length, string path)
    {
        public long Position { get; private set; }

        public InvalidInputException Error(string problem) => InvalidInputException.ForFile(path, problem);

        void Need(long bytes, string what)
        {
            if (bytes < 0 || bytes > length - Position) throw Error($"truncated: {what} at byte {Position} runs past the end of the file ({length} bytes)");
        }

        public uint U32() { Need(4, "a 4-byte value"); uint v = view.ReadUInt32(Position); Position += 4; return v; }
        public ulong U64() { Need(8, "an 8-byte value"); ulong v = view.ReadUInt64(Position); Position += 8; return v; }

        public long Count(string what)
        {
            ulong n = U64();
            return n <= MaxItems ? (long)n : throw Error($"{what} {n} is implausible (at most {MaxItems})");
        }

        public string String()
        {
            ulong n = U64();
            if (n > MaxStringBytes) throw Error($"a string of {n} bytes at byte {Position - 8} is implausible");
            Need((long)n, "a string");
            var bytes = new byte[n];
            view.ReadArray(Position, bytes, 0, bytes.Length);
            Position += (long)n;
            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw Error($"a string at byte {Position - (long)n} is not valid UTF-8");
            }
        }

        public GgufValue Value(string key)
        {
            uint tag = U32();
            if (tag > (uint)GgufType.Float64) throw Error($"metadata '{key}' has unknown type {tag}");
            var type = (GgufType)tag;
            if (type != GgufType.Array) return new GgufValue(type, Scalar(type, key));
            uint elementTag = U32();
            if (elementTag > (uint)GgufType.Float64 || elementTag == (uint)GgufType.Array) throw Error($"metadata '{key}' is an array of unsupported type {elementTag}");
            var element = (GgufType)elementTag;
            long n = Count($"metadata '{key}' length");
            // Each element takes at least a byte (a string 8): refuse a count the file cannot hold before allocating it.
            Need(n * (element == GgufType.String ? 8 : 1), $"metadata '{key}' ({n} elements)");
            object items = element switch
            {
                GgufType.String => Enumerable.Range(0, (int)n).Select(_ => String()).ToArray(),
                GgufType.Float32 or GgufType.Float64 => Enumerable.Range(0, (int)n).Select(_ => (double)Scalar(element, key)).ToArray(),
                GgufType.Bool => Enumerable.Range(0, (int)n).Select(_ => (bool)Scalar(element, key)).ToArray(),
                _ => Enumerable.Range(0, (int)n).Select(_ => Scalar(element, key) switch { ulong u => (long)Math.Min(u, long.MaxValue), var v => (long)v }).ToArray(),
            };
            return new GgufValue(type, items, element);
        }

        object Scalar(GgufType type, string key)
        {
            int size = type switch
            {
                GgufType.UInt8 or GgufType.Int8 or GgufType.Bool => 1, GgufType.UInt16 or GgufType.Int16 => 2,
                GgufType.UInt32 or GgufType.Int32 or GgufType.Float32 => 4, GgufType.String => 0, _ => 8,
            };
            if (type == GgufType.String) return String();
            Need(size, $"metadata '{key}'");
            long at = Position;
            Position += size;
            return type switch
            {
                GgufType.UInt8 => (long)view.ReadByte(at), GgufType.Int8 => (long)view.ReadSByte(at),
                GgufType.UInt16 => (long)view.ReadUInt16(at), GgufType.Int16 => (long)view.ReadInt16(at),
                GgufType.UInt32 => (long)view.ReadUInt32(at), GgufType.Int32 => (long)view.ReadInt32(at),
                GgufType.UInt64 => view.ReadUInt64(at), GgufType.Int64 => view.ReadInt64(at),
                // A float32 reads as the shortest decimal that round-trips it: 1e-5 stays 1e-5, not 9.9999997e-06.
                GgufType.Float32 => double.Parse(view.ReadSingle(at).ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture),
                GgufType.Float64 => view.ReadDouble(at),
                GgufType.Bool => view.ReadByte(at) switch { 0 => false, 1 => true, var b => throw Error($"metadata '{key}' bool is {b}") },
                _ => throw Error($"metadata '{key}' has unknown type {type}"),
            };
        }
    }
}
