using System.Text.Json;

namespace SharpLM.Data;

/// <summary>
/// Streams documents from a .txt file (the whole file is one document), a .jsonl file (one document per line,
/// text in a chosen field) or a directory of such files (recursively, in ordinal path order so runs repeat).
/// </summary>
public static class DocumentReader
{
    public static IEnumerable<Document> Read(string path, string jsonlField = "text")
    {
        if (Directory.Exists(path))
        {
            var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Where(f => IsText(f) || IsJsonl(f))
                .OrderBy(f => f, StringComparer.Ordinal)
                .ToList();
            if (files.Count == 0) throw InvalidInputException.ForFile(path, "directory holds no .txt or .jsonl files");
            return files.SelectMany(f => ReadFile(f, jsonlField));
        }
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "input not found");
        return ReadFile(path, jsonlField);
    }

    static bool IsJsonl(string f) => f.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
    static bool IsText(string f) => f.EndsWith(".txt", StringComparison.OrdinalIgnoreCase);

    static IEnumerable<Document> ReadFile(string file, string field)
    {
        if (!IsJsonl(file))
        {
            yield return new Document(file, File.ReadAllText(file));
            yield break;
        }
        int lineNumber = 0;
        foreach (string line in File.ReadLines(file))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return new Document($"{file}:{lineNumber}", TextField(file, lineNumber, line, field));
        }
    }

    static string TextField(string file, int lineNumber, string line, string field)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw InvalidInputException.ForFile($"{file}:{lineNumber}", "line is not a JSON object");
            if (!doc.RootElement.TryGetProperty(field, out var value))
                throw InvalidInputException.ForFile($"{file}:{lineNumber}", $"field '{field}' missing (choose another with --field)");
            if (value.ValueKind != JsonValueKind.String)
                throw InvalidInputException.ForFile($"{file}:{lineNumber}", $"field '{field}' is {value.ValueKind}, not a string");
            return value.GetString()!;
        }
        catch (JsonException e)
        {
            throw InvalidInputException.ForFile($"{file}:{lineNumber}", $"malformed JSON: {e.Message.Split('\n')[0]}", e);
        }
    }
}
