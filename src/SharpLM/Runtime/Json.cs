using System.Text.Json;
using System.Text.Json.Serialization;

namespace SharpLM.Runtime;

/// <summary>One JSON convention for every file SharpLM writes: snake_case names (as nanoGPT / Hugging Face configs), indented.</summary>
public static class Json
{
    /// <summary>
    /// Options for reading and writing: snake_case, indented, NaN and infinities allowed as named literals, and an
    /// unknown property is an error rather than silently ignored.
    /// </summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Single-line form for JSONL logs.</summary>
    public static readonly JsonSerializerOptions Line = new(Options) { WriteIndented = false };

    /// <summary>Largest file <see cref="ReadFile{T}"/> reads: configs and manifests are kilobytes, and one may come from a stranger.</summary>
    public const long MaxFileBytes = 16L << 20;

    /// <summary>Reads and deserialises a JSON file; any failure becomes a one-line error naming the file.</summary>
    public static T ReadFile<T>(string path)
    {
        CheckFile(path, typeof(T).Name);
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options)
                ?? throw InvalidInputException.ForFile(path, "file is empty (JSON null)");
        }
        catch (JsonException e)
        {
            throw InvalidInputException.ForFile(path, $"not valid {typeof(T).Name} JSON: {InvalidInputException.FirstLine(e)}", e);
        }
    }

    /// <summary>
    /// Parses a JSON file whose shape is not a SharpLM type (another tool's config or index) as a document, with the
    /// same checks as <see cref="ReadFile{T}"/>: it exists, is at most <see cref="MaxFileBytes"/>, and parses; the
    /// caller disposes the document.
    /// </summary>
    public static JsonDocument ReadDocument(string path)
    {
        CheckFile(path, "JSON");
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw InvalidInputException.ForFile(path, $"not valid JSON: {InvalidInputException.FirstLine(e)}", e);
        }
    }

    static void CheckFile(string path, string kind)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "file not found");
        long length = new FileInfo(path).Length;
        if (length > MaxFileBytes) throw InvalidInputException.ForFile(path, $"{length:N0} bytes is too large for a {kind} file (at most {MaxFileBytes >> 20} MiB)");
    }
}
