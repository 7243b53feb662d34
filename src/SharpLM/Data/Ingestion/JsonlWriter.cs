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

    public JsonlWriter(string path)
    {
        this.path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(this.path)!);
        temp = $"{this.path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true) : file;
        json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    public long Count { get; private set; }

    public void Write(Document document, IReadOnlyDictionary<string, string>? extra = null)
    {
        json.Reset();
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
        stream.WriteByte((byte)'\n');
        Count++;
    }

    public void Commit()
    {
        json.Dispose(); // flushes
        if (stream != file) stream.Dispose(); // finishes the gzip trailer
        file.Flush(flushToDisk: true);
        file.Dispose();
        File.Move(temp, path, overwrite: true);
        committed = true;
    }

    public void Dispose()
    {
        if (committed) return;
        json.Dispose();
        if (stream != file) stream.Dispose();
        file.Dispose();
        File.Delete(temp);
    }
}
