using System.Text;
using System.Text.Json;

namespace SharpLM.Adaptation.Formatting;

/// <summary>One JSON object of a data file and the line it starts on (for error messages).</summary>
public readonly record struct JsonRecord(int Line, JsonElement Value);

/// <summary>
/// Reads the records of a JSON array file or a JSONL file (told apart by the first non-blank character: '[' is an
/// array), each with its line number, so a bad record is reported as <c>file:line</c>. Blank JSONL lines are skipped.
/// </summary>
public static class JsonRecordFile
{
    /// <exception cref="InvalidInputException">Missing file, or malformed JSON (naming file:line).</exception>
    public static IReadOnlyList<JsonRecord> Read(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "file not found");
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes is [0xEF, 0xBB, 0xBF, ..]) bytes = bytes[3..]; // a UTF-8 byte order mark
        int first = Array.FindIndex(bytes, b => b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'));
        if (first < 0) throw InvalidInputException.ForFile(path, "file is empty");
        return bytes[first] == (byte)'[' ? ReadArray(path, bytes) : ReadLines(path, bytes);
    }

    static List<JsonRecord> ReadLines(string path, byte[] bytes)
    {
        var records = new List<JsonRecord>();
        string[] lines = Encoding.UTF8.GetString(bytes).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            try
            {
                records.Add(new JsonRecord(i + 1, JsonDocument.Parse(lines[i]).RootElement));
            }
            catch (JsonException e)
            {
                throw InvalidInputException.ForFile($"{path}:{i + 1}", $"not valid JSON ({InvalidInputException.FirstLine(e)})", e);
            }
        }
        return records;
    }

    // A JSON array read element by element, so each record knows the line it starts on.
    static List<JsonRecord> ReadArray(string path, byte[] bytes)
    {
        var records = new List<JsonRecord>();
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        int line = 1;
        long counted = 0;
        int LineAt(long offset)
        {
            for (; counted < offset; counted++) if (bytes[counted] == (byte)'\n') line++;
            return line;
        }
        try
        {
            reader.Read(); // '['
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                int at = LineAt(reader.TokenStartIndex);
                records.Add(new JsonRecord(at, JsonElement.ParseValue(ref reader)));
            }
            if (reader.TokenType != JsonTokenType.EndArray) throw InvalidInputException.ForFile($"{path}:{LineAt(bytes.Length)}", "the JSON array is not closed");
            if (reader.Read()) throw InvalidInputException.ForFile($"{path}:{LineAt(reader.TokenStartIndex)}", "text after the JSON array");
        }
        catch (JsonException e)
        {
            throw InvalidInputException.ForFile($"{path}:{(e.LineNumber ?? 0) + 1}", $"not valid JSON ({InvalidInputException.FirstLine(e)})", e);
        }
        return records;
    }

    /// <summary>The string field <paramref name="name"/> of a record, or an error naming file:line and the field.</summary>
    internal static string RequiredString(JsonElement record, string name, string where, string field)
    {
        if (record.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{where}: expected a JSON object");
        if (!record.TryGetProperty(name, out JsonElement value)) throw new InvalidInputException($"{where}: {field} is missing");
        return value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new InvalidInputException($"{where}: {field} must be a string, not {value.ValueKind.ToString().ToLowerInvariant()}");
    }
}
