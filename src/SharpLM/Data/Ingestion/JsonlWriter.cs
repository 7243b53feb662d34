using System.IO.Compression;
using System.Text.Json;

namespace SharpLM.Data.Ingestion;

/// <summary>
/// Writes documents as JSON lines ({"id", "text", …metadata, plus extra fields}), gzip-compressed when the path
/// ends in .gz. The file appears under its name only at <see cref="Commit"/> (temporary file, flushed, renamed),
/// so an interrupted run never leaves a truncated output that looks finished.
/// </summary>
public sealed class JsonlWriter : IDisposable
{
    readonly string path, temp;
    readonly FileStream file;
    readonly Stream stream;
    readonly Utf8JsonWriter json;
    bool committed;

    /// <summary>Opens a temporary file beside <paramref name="path"/> (creating the directory); nothing appears at the path until <see cref="Commit"/>.</summary>
    public JsonlWriter(string path)
    {
        this.path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(this.path)!);
        temp = $"{this.path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true) : file;
        json = new Utf8JsonWriter(stream, WriterOptions);
    }

    /// <summary>Documents written so far.</summary>
    public long Count { get; private set; }

    /// <summary>Writes one document as a line, its metadata values unchanged (raw JSON).</summary>
    /// <param name="document">Written as its id, its text, then its metadata.</param>
    /// <param name="extra">String fields added after the metadata, e.g. the reason a document was rejected.</param>
    public void Write(Document document, IReadOnlyDictionary<string, string>? extra = null)
    {
        json.Reset();
        WriteRecord(json, document, extra);
        stream.WriteByte((byte)'\n');
        Count++;
    }

    /// <summary>
    /// Appends lines made elsewhere by <see cref="WriteRecord"/> (another MPI rank's share of the output), so the file
    /// is byte for byte what writing those documents here would give.
    /// </summary>
    /// <param name="lines">Whole JSON lines, each ending in a newline.</param>
    /// <param name="documents">How many lines they are, for <see cref="Count"/>.</param>
    public void WriteRaw(ReadOnlySpan<byte> lines, long documents)
    {
        // Write leaves nothing in the JSON writer, and flushing it here would flush the stream once more.
        // Line by line, as Write hands them over: Utf8JsonWriter.Flush flushes the stream after each record, which
        // for .gz ends a deflate block, so the file is only the same bytes when it is fed and flushed the same way.
        while (lines.IndexOf((byte)'\n') is int end and >= 0)
        {
            stream.Write(lines[..end]);
            stream.Flush();
            stream.WriteByte((byte)'\n');
            lines = lines[(end + 1)..];
        }
        if (!lines.IsEmpty) throw new ArgumentException("the lines must end in a newline", nameof(lines));
        Count += documents;
    }

    /// <summary>How records are encoded: relaxed escaping, so non-ASCII text stays readable UTF-8.</summary>
    internal static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One record, without its newline, flushed to the writer's output.</summary>
    internal static void WriteRecord(Utf8JsonWriter json, Document document, IReadOnlyDictionary<string, string>? extra)
    {
        json.WriteStartObject();
        json.WriteString("id", document.Id);
        json.WriteString("text", document.Text);
        if (document.Metadata is not null)
            foreach (var (key, raw) in document.Metadata)
            {
                json.WritePropertyName(key);
                json.WriteRawValue(raw, skipInputValidation: true);
            }
        if (extra is not null)
            foreach (var (key, value) in extra) json.WriteString(key, value);
        json.WriteEndObject();
        json.Flush();
    }

    /// <summary>Finishes the file (gzip trailer included), flushes it to disk and renames it to its final name, replacing any file there.</summary>
    public void Commit()
    {
        json.Dispose(); // flushes
        if (stream != file) stream.Dispose(); // finishes the gzip trailer
        file.Flush(flushToDisk: true);
        file.Dispose();
        File.Move(temp, path, overwrite: true);
        committed = true;
    }

    /// <summary>Closes the writer; without a <see cref="Commit"/>, deletes the temporary file.</summary>
    public void Dispose()
    {
        if (committed) return;
        json.Dispose();
        if (stream != file) stream.Dispose();
        file.Dispose();
        File.Delete(temp);
    }
}
