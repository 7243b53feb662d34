using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace SharpLM.Data.Ingestion;

/// <summary>
/// JSON lines into documents. Lines are found with a vectorised newline search in a large buffer and each record is
/// read with one forward pass of <see cref="Utf8JsonReader"/> (no DOM, no copy per line): reading is the one stage of
/// a cleaning run that cannot use every core, so it has to be cheap.
/// </summary>
internal sealed class JsonlRecords(CorpusOptions options)
{
    readonly byte[] textField = Encoding.UTF8.GetBytes(options.TextField), idField = Encoding.UTF8.GetBytes(options.IdField);

    public IEnumerable<Document> Read(Stream stream, string file, Action<BadRecord> onBad)
    {
        var buffer = new byte[1 << 20];
        int start = 0, end = 0, lineNumber = 0;
        bool skipping = false; // inside a record too large to hold, already reported
        while (true)
        {
            int newline = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
            if (newline < 0)
            {
                // Move the partial line to the front (growing the buffer for a long record) and read more.
                if (skipping) start = end;
                int partial = end - start;
                if (partial > options.MaxDocumentBytes)
                {
                    onBad(new BadRecord($"{file}:{lineNumber + 1}", $"record larger than {options.MaxDocumentBytes:N0} bytes"));
                    skipping = true;
                    start = end;
                    partial = 0;
                }
                if (partial == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                Buffer.BlockCopy(buffer, start, buffer, 0, partial);
                (start, end) = (0, partial);
                int n;
                try { n = stream.Read(buffer, end, buffer.Length - end); }
                catch (InvalidDataException) { onBad(new BadRecord(file, $"{CorpusReader.CorruptGzip} at line {lineNumber + 1}")); yield break; }
                if (n == 0) break;
                end += n;
                continue;
            }
            lineNumber++;
            int lineStart = start;
            start += newline + 1;
            if (skipping) { skipping = false; continue; }
            if (newline > options.MaxDocumentBytes) { onBad(new BadRecord($"{file}:{lineNumber}", $"record larger than {options.MaxDocumentBytes:N0} bytes")); continue; }
            var document = Parse(buffer.AsSpan(lineStart, newline), file, lineNumber, onBad);
            if (document is not null) yield return document;
        }
        if (end > start && !skipping)
        {
            var document = Parse(buffer.AsSpan(start, end - start), file, lineNumber + 1, onBad);
            if (document is not null) yield return document;
        }
    }

    /// <summary>One record; null for a blank line or a bad record (reported).</summary>
    Document? Parse(ReadOnlySpan<byte> line, string file, int lineNumber, Action<BadRecord> onBad)
    {
        if (line.Trim((byte)' ').Trim((byte)'\r').IsEmpty) return null;
        string Location() => $"{file}:{lineNumber}";
        // System.Text.Json would replace invalid bytes silently.
        if (!Utf8.IsValid(line)) { onBad(new BadRecord(Location(), "invalid UTF-8")); return null; }
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) { onBad(new BadRecord(Location(), "not a JSON object")); return null; }
            string? text = null, id = null;
            JsonTokenType? textType = null;
            Dictionary<string, string>? metadata = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isText = reader.ValueTextEquals(textField), isId = !isText && reader.ValueTextEquals(idField);
                string? name = isText || isId ? null : reader.GetString();
                reader.Read();
                var type = reader.TokenType;
                if (isText)
                {
                    textType = type;
                    text = type == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                }
                else if (isId)
                {
                    // Ids as a string, or a number as written; anything else falls back to the location.
                    id = type == JsonTokenType.String ? reader.GetString() : type == JsonTokenType.Number ? Encoding.UTF8.GetString(reader.ValueSpan) : null;
                    reader.Skip();
                }
                else
                {
                    // Metadata keeps the raw JSON value, so it is written back unchanged.
                    int valueStart = (int)reader.TokenStartIndex;
                    reader.Skip();
                    (metadata ??= new Dictionary<string, string>())[name!] = Encoding.UTF8.GetString(line[valueStart..(int)reader.BytesConsumed]);
                }
            }
            while (reader.Read()) { } // trailing content after the object is malformed JSON, and throws here
            if (textType is null) { onBad(new BadRecord(Location(), $"field '{options.TextField}' missing")); return null; }
            if (text is null) { onBad(new BadRecord(Location(), $"field '{options.TextField}' is {Kind(textType.Value)}, not a string")); return null; }
            if (string.IsNullOrWhiteSpace(text)) { onBad(new BadRecord(Location(), "empty document")); return null; }
            return new Document(id ?? Location(), text, metadata);
        }
        catch (JsonException e) { onBad(new BadRecord(Location(), $"malformed JSON ({InvalidInputException.FirstLine(e)})")); }
        return null;
    }

    /// <summary>A value's kind as JSON names it.</summary>
    static string Kind(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "Object",
        JsonTokenType.StartArray => "Array",
        _ => type.ToString(),
    };
}
