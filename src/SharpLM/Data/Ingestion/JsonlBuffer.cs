using System.Buffers;
using System.Text.Json;

namespace SharpLM.Data.Ingestion;

/// <summary>
/// JSON lines kept in memory, encoded exactly as <see cref="JsonlWriter"/> encodes them, in chunks of a bounded
/// size: one MPI rank's share of a cleaning output, shipped to the rank that writes the file.
/// </summary>
internal sealed class JsonlBuffer(int chunkBytes = 64 << 20)
{
    readonly List<(byte[] Lines, long Documents)> chunks = [];
    ArrayBufferWriter<byte> current = new();
    Utf8JsonWriter? json;
    long documentsInCurrent;

    /// <summary>Appends one document as a line.</summary>
    public void Write(Document document, IReadOnlyDictionary<string, string>? extra = null)
    {
        json ??= new Utf8JsonWriter(current, JsonlWriter.WriterOptions);
        json.Reset(current);
        JsonlWriter.WriteRecord(json, document, extra);
        current.Write("\n"u8);
        documentsInCurrent++;
        if (current.WrittenCount >= chunkBytes) Roll();
    }

    /// <summary>The lines in order, as chunks of whole lines with their document counts; none when nothing was written.</summary>
    public IReadOnlyList<(byte[] Lines, long Documents)> Chunks()
    {
        Roll();
        return chunks;
    }

    void Roll()
    {
        if (documentsInCurrent == 0) return;
        chunks.Add((current.WrittenSpan.ToArray(), documentsInCurrent));
        current = new ArrayBufferWriter<byte>();
        documentsInCurrent = 0;
    }
}
