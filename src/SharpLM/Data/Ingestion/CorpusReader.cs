using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Parquet;
using Parquet.Schema;

namespace SharpLM.Data.Ingestion;

/// <summary>How <see cref="CorpusReader"/> turns files into documents.</summary>
public sealed record CorpusOptions
{
    /// <summary>JSON field (.jsonl) or column (.parquet) holding the text.</summary>
    public string TextField { get; init; } = "text";
    /// <summary>JSON field (.jsonl) or column (.parquet) holding the id; when absent or null the id is "file:line" or "file:row".</summary>
    public string IdField { get; init; } = "id";
    /// <summary>.txt: one document per blank-line-separated paragraph instead of one per file.</summary>
    public bool TxtParagraphs { get; init; }
    /// <summary>Larger documents are reported as bad records instead of being loaded into the pipeline.</summary>
    public int MaxDocumentBytes { get; init; } = 16 << 20;
}

/// <summary>A record that could not become a document: where (file or file:line) and why.</summary>
public sealed record BadRecord(string Location, string Problem);

/// <summary>
/// Streams documents from .txt and .jsonl files, gzip-compressed or not, and .parquet files, given as a file, a
/// directory (recursively) or a glob ("data/**/*.jsonl.gz"), in ordinal path order so runs repeat. Bad input never
/// stops the stream: invalid UTF-8, malformed JSON, missing or non-string fields, empty or oversized documents, binary
/// files, truncated or corrupt gzip and unreadable Parquet each become a <see cref="BadRecord"/> passed to the
/// callback, and reading goes on.
/// </summary>
/// <remarks>
/// Parquet (FineWeb-style: text, id, dump, url, …) is read one row group at a time, so memory is bounded by a row
/// group. Every other top-level column becomes metadata in the form .jsonl metadata takes (raw JSON: strings quoted,
/// numbers invariant, nulls left out); nested and list columns are left out. A file row is numbered from 1.
/// .parquet.gz is refused with a bad record: Parquet compresses its pages itself, and the reader needs to seek.
/// </remarks>
public sealed class CorpusReader
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    readonly CorpusOptions options;

    public CorpusReader(CorpusOptions? options = null) => this.options = options ?? new CorpusOptions();

    public IEnumerable<Document> Read(string input, Action<BadRecord> onBad)
    {
        foreach (string file in Files(input))
        {
            IEnumerable<Document> documents = Format(file) switch
            {
                ".jsonl" => ReadJsonl(file, onBad),
                ".txt" => ReadText(file, onBad),
                ".parquet" => ReadParquet(file, onBad),
                _ => Unsupported(file, onBad),
            };
            foreach (var d in documents) yield return d;
        }
    }

    /// <summary>Files named by a path, directory or glob, sorted; an input that names nothing is an error.</summary>
    public static IReadOnlyList<string> Files(string input)
    {
        List<string> files;
        if (input.Contains('*') || input.Contains('?'))
        {
            string full = Path.GetFullPath(input);
            int wildcard = full.IndexOfAny(new[] { '*', '?' });
            string root = Path.GetDirectoryName(full[..(wildcard + 1)]) ?? "/";
            var regex = GlobRegex(full);
            files = Directory.Exists(root)
                ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(f => regex.IsMatch(f)).ToList()
                : new List<string>();
        }
        else if (Directory.Exists(input))
            files = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories).Where(f => Format(f) is ".jsonl" or ".txt" or ".parquet").ToList();
        else if (File.Exists(input))
            files = new List<string> { input };
        else throw InvalidInputException.ForFile(input, "input not found");
        if (files.Count == 0) throw InvalidInputException.ForFile(input, "names no .txt, .jsonl (optionally .gz) or .parquet files");
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>".jsonl", ".txt" or ".parquet" (a trailing ".gz" ignored), or the extension itself.</summary>
    public static string Format(string path)
    {
        string name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        return Path.GetExtension(name).ToLowerInvariant();
    }

    static bool IsGzip(string file) => file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);

    static Stream Open(string file)
    {
        Stream s = File.OpenRead(file);
        return IsGzip(file) ? new CheckedGZipStream(s) : s;
    }

    static IEnumerable<Document> Unsupported(string file, Action<BadRecord> onBad)
    {
        onBad(new BadRecord(file, $"unsupported format '{Format(file)}' (expected .txt or .jsonl, optionally .gz, or .parquet)"));
        yield break;
    }

    IEnumerable<Document> ReadText(string file, Action<BadRecord> onBad)
    {
        string? text = null;
        try
        {
            using var stream = Open(file);
            using var buffer = new MemoryStream();
            var chunk = new byte[1 << 16];
            int n;
            while ((n = stream.Read(chunk)) > 0)
            {
                if (buffer.Length == 0 && Array.IndexOf(chunk, (byte)0, 0, n) >= 0) { onBad(new BadRecord(file, "binary file (NUL bytes)")); yield break; }
                buffer.Write(chunk, 0, n);
                if (!options.TxtParagraphs && buffer.Length > options.MaxDocumentBytes) { onBad(new BadRecord(file, $"document larger than {options.MaxDocumentBytes:N0} bytes")); yield break; }
            }
            text = StrictUtf8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (DecoderFallbackException) { onBad(new BadRecord(file, "invalid UTF-8")); }
        catch (InvalidDataException) { onBad(new BadRecord(file, CorruptGzip)); }
        if (text is null) yield break;

        if (!options.TxtParagraphs)
        {
            if (string.IsNullOrWhiteSpace(text)) onBad(new BadRecord(file, "empty document"));
            else yield return new Document(file, text);
            yield break;
        }
        int paragraph = 0;
        foreach (string p in Regex.Split(text, @"\n[ \t\r]*\n"))
        {
            paragraph++;
            if (!string.IsNullOrWhiteSpace(p)) yield return new Document($"{file}#{paragraph}", p.Trim('\n', '\r'));
        }
    }

    IEnumerable<Document> ReadJsonl(string file, Action<BadRecord> onBad)
    {
        using var stream = Open(file);
        int lineNumber = 0;
        foreach (byte[] line in Lines(stream, file, onBad))
        {
            lineNumber++;
            string location = $"{file}:{lineNumber}";
            if (line.Length > options.MaxDocumentBytes) { onBad(new BadRecord(location, $"record larger than {options.MaxDocumentBytes:N0} bytes")); continue; }
            if (line.AsSpan().Trim((byte)' ').Trim((byte)'\r').IsEmpty) continue;
            var document = ParseRecord(line, location, onBad);
            if (document is not null) yield return document;
        }
    }

    Document? ParseRecord(byte[] line, string location, Action<BadRecord> onBad)
    {
        try
        {
            StrictUtf8.GetCharCount(line); // JsonDocument would replace invalid bytes silently
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.ValueKind != JsonValueKind.Object) { onBad(new BadRecord(location, "not a JSON object")); return null; }
            if (!json.RootElement.TryGetProperty(options.TextField, out var textValue)) { onBad(new BadRecord(location, $"field '{options.TextField}' missing")); return null; }
            if (textValue.ValueKind != JsonValueKind.String) { onBad(new BadRecord(location, $"field '{options.TextField}' is {textValue.ValueKind}, not a string")); return null; }
            string text = textValue.GetString()!;
            if (string.IsNullOrWhiteSpace(text)) { onBad(new BadRecord(location, "empty document")); return null; }
            string id = json.RootElement.TryGetProperty(options.IdField, out var idValue) && idValue.ValueKind is JsonValueKind.String or JsonValueKind.Number
                ? idValue.ToString() : location;
            var metadata = new Dictionary<string, string>();
            foreach (var property in json.RootElement.EnumerateObject())
                if (property.Name != options.TextField && property.Name != options.IdField) metadata[property.Name] = property.Value.GetRawText();
            return new Document(id, text, metadata.Count > 0 ? metadata : null);
        }
        catch (DecoderFallbackException) { onBad(new BadRecord(location, "invalid UTF-8")); }
        catch (JsonException e) { onBad(new BadRecord(location, $"malformed JSON ({InvalidInputException.FirstLine(e)})")); }
        return null;
    }

    /// <summary>
    /// Raw lines (without '\n'); a corrupt or truncated compressed stream ends the file with one bad record naming the
    /// line it broke in, which is dropped: the lines before it are whole.
    /// </summary>
    static IEnumerable<byte[]> Lines(Stream stream, string file, Action<BadRecord> onBad)
    {
        var buffer = new byte[1 << 16];
        var line = new MemoryStream();
        int complete = 0;
        while (true)
        {
            int n;
            try { n = stream.Read(buffer); }
            catch (InvalidDataException) { onBad(new BadRecord(file, $"{CorruptGzip} at line {complete + 1}")); yield break; }
            if (n == 0) break;
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                line.Write(buffer, start, i - start);
                complete++;
                yield return line.ToArray();
                line.SetLength(0);
                start = i + 1;
            }
            line.Write(buffer, start, n - start);
        }
        if (line.Length > 0) yield return line.ToArray();
    }

    const string CorruptGzip = "corrupt gzip stream (truncated or damaged)";

    IEnumerable<Document> ReadParquet(string file, Action<BadRecord> onBad)
    {
        if (IsGzip(file)) { onBad(new BadRecord(file, "gzip-compressed Parquet is not supported (Parquet compresses its pages itself): decompress it first")); yield break; }
        using var stream = File.OpenRead(file);
        ParquetReader reader;
        DataField[] columns;
        // A damaged file surfaces as whatever the decoder trips on, so any exception from it is bad input.
        try
        {
            reader = ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
            // One value per row: top-level, non-repeated columns (strings and bytes are value types here too).
            columns = reader.Schema.Fields.OfType<DataField>().Where(f => f.MaxRepetitionLevel == 0 && f.ClrType.IsValueType).ToArray();
        }
        catch (Exception e) { onBad(new BadRecord(file, $"not a readable Parquet file ({InvalidInputException.FirstLine(e)})")); yield break; }
        try
        {
            int text = Array.FindIndex(columns, f => f.Name == options.TextField);
            int id = Array.FindIndex(columns, f => f.Name == options.IdField);
            if (text < 0) { onBad(new BadRecord(file, $"column '{options.TextField}' missing")); yield break; }
            if (columns[text].ClrType != typeof(ReadOnlyMemory<char>)) { onBad(new BadRecord(file, $"column '{options.TextField}' is {columns[text].ClrType.Name}, not a string")); yield break; }
            long row = 0;
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                var group = reader.OpenRowGroupReader(g);
                var values = ReadRowGroup(group, columns, out string? problem);
                if (values is null)
                {
                    onBad(new BadRecord(file, $"row group {g + 1} (rows {row + 1}-{row + group.RowCount}) unreadable ({problem})"));
                    row += group.RowCount;
                    continue;
                }
                for (int r = 0; r < values[text].Length; r++)
                {
                    var document = ParquetRow(columns, values, r, text, id, $"{file}:{++row}", onBad);
                    if (document is not null) yield return document;
                }
            }
        }
        finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    /// <summary>Every column of a row group, a value or null per row; null (and why) when a column cannot be read.</summary>
    static object?[][]? ReadRowGroup(ParquetRowGroupReader group, DataField[] columns, out string? problem)
    {
        var values = new object?[columns.Length][];
        for (int c = 0; c < columns.Length; c++)
        {
            try { values[c] = ReadColumn(group, columns[c], checked((int)group.RowCount)); }
            catch (Exception e) // as above: damage shows as any exception
            {
                problem = $"column '{columns[c].Name}': {InvalidInputException.FirstLine(e)}";
                return null;
            }
        }
        problem = null;
        return values;
    }

    Document? ParquetRow(DataField[] columns, object?[][] values, int r, int text, int id, string location, Action<BadRecord> onBad)
    {
        if (values[text][r] is not string content) { onBad(new BadRecord(location, $"column '{options.TextField}' is null")); return null; }
        if (string.IsNullOrWhiteSpace(content)) { onBad(new BadRecord(location, "empty document")); return null; }
        if (Encoding.UTF8.GetByteCount(content) > options.MaxDocumentBytes) { onBad(new BadRecord(location, $"document larger than {options.MaxDocumentBytes:N0} bytes")); return null; }
        var metadata = new Dictionary<string, string>();
        for (int c = 0; c < columns.Length; c++)
            if (c != text && c != id && values[c][r] is { } value) metadata[columns[c].Name] = JsonSerializer.Serialize(value, value.GetType(), MetadataJson);
        // Ids as .jsonl takes them: a string, or a number as written; anything else falls back to the location.
        object? idValue = id < 0 ? null : values[id][r];
        string documentId = idValue switch
        {
            string s => s,
            sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal => Convert.ToString(idValue, CultureInfo.InvariantCulture)!,
            _ => location,
        };
        return new Document(documentId, content, metadata.Count > 0 ? metadata : null);
    }

    /// <summary>Raw JSON as .jsonl metadata holds it, escaped no more than <see cref="JsonlWriter"/> escapes.</summary>
    static readonly JsonSerializerOptions MetadataJson = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // NaN has no JSON number: "NaN"
    };

    static readonly MethodInfo ReadValueColumn = typeof(CorpusReader).GetMethod(nameof(ReadValues), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>One column of a row group, a boxed value or null per row.</summary>
    static object?[] ReadColumn(ParquetRowGroupReader group, DataField field, int rows)
    {
        if (field.ClrType == typeof(ReadOnlyMemory<char>))
        {
            var strings = new string?[rows];
            group.ReadAsync(field, strings.AsMemory()).AsTask().GetAwaiter().GetResult();
            return strings;
        }
        if (field.ClrType == typeof(ReadOnlyMemory<byte>))
        {
            var bytes = new byte[]?[rows];
            group.ReadAsync(field, bytes.AsMemory()).AsTask().GetAwaiter().GetResult();
            return bytes;
        }
        // Value columns (numbers, bools, dates, …) read as T?[], for whichever T the file declares.
        return (object?[])ReadValueColumn.MakeGenericMethod(field.ClrType)
            .Invoke(null, BindingFlags.DoNotWrapExceptions, null, new object[] { group, field, rows }, null)!;
    }

    static object?[] ReadValues<T>(ParquetRowGroupReader group, DataField field, int rows) where T : struct
    {
        var values = new T?[rows];
        group.ReadAsync<T>(field, values.AsMemory()).AsTask().GetAwaiter().GetResult();
        return Array.ConvertAll(values, v => (object?)v);
    }

    static Regex GlobRegex(string glob)
    {
        var sb = new StringBuilder("^");
        for (int i = 0; i < glob.Length; i++)
        {
            char c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                sb.Append(".*");
                i++;
                if (i + 1 < glob.Length && glob[i + 1] == '/') i++; // "**/" also matches no directory
            }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}

/// <summary>
/// Gzip decompression that throws <see cref="InvalidDataException"/> on a stream cut short, which .NET's GZipStream
/// takes for a normal end (its check was reverted: dotnet/runtime#72726). The file's bytes are followed by one more
/// gzip member holding a known marker. After a complete file, multi-member or not, the marker decodes as a member of
/// its own and is all that comes after the file's bytes; after a file cut short, the marker's bytes continue the
/// unfinished member, which then throws or decodes to something else. What decodes after the file's bytes is only
/// checked, never passed on. Trailing bytes that are not gzip stop the decoder before the marker and count as damage.
/// An empty file passes: it is what GZipStream writes for empty content.
/// </summary>
file sealed class CheckedGZipStream : ReadOnlyStream
{
    static readonly byte[] Marker = "\0SharpLM: end of the gzip input\0"u8.ToArray();
    static readonly byte[] MarkerMember = Compress(Marker);
    readonly FileThenMarker input;
    readonly GZipStream gzip;
    bool ended;

    public CheckedGZipStream(Stream file)
    {
        input = new FileThenMarker(file, MarkerMember);
        gzip = new GZipStream(input, CompressionMode.Decompress);
    }

    public override int Read(Span<byte> buffer)
    {
        if (ended || buffer.IsEmpty) return 0;
        int n = gzip.Read(buffer);
        // GZipStream reads more input only once it has decoded all it could, so output before the marker is the file's.
        if (!input.MarkerStarted) return n > 0 ? n : throw Damaged();
        var after = new MemoryStream();
        after.Write(buffer[..n]);
        var chunk = new byte[Marker.Length + 1];
        while (after.Length <= Marker.Length && (n = gzip.Read(chunk)) > 0) after.Write(chunk, 0, n);
        if (!after.ToArray().AsSpan().SequenceEqual(Marker)) throw Damaged();
        ended = true;
        return 0;
    }

    static InvalidDataException Damaged() => new("truncated or corrupt gzip stream");

    static byte[] Compress(byte[] data)
    {
        var compressed = new MemoryStream();
        using (var gz = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return compressed.ToArray();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) gzip.Dispose(); // and with it the input and the file
        base.Dispose(disposing);
    }

    /// <summary>The file's bytes, then the marker member's.</summary>
    sealed class FileThenMarker(Stream file, byte[] marker) : ReadOnlyStream
    {
        int markerRead;

        public bool MarkerStarted { get; private set; }

        public override int Read(Span<byte> buffer)
        {
            if (!MarkerStarted)
            {
                int n = file.Read(buffer);
                if (n > 0 || buffer.IsEmpty) return n;
                MarkerStarted = true;
            }
            int count = Math.Min(buffer.Length, marker.Length - markerRead);
            marker.AsSpan(markerRead, count).CopyTo(buffer);
            markerRead += count;
            return count;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) file.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>What a forward-only stream that is only read has to stub.</summary>
file abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public abstract override int Read(Span<byte> buffer);
}
