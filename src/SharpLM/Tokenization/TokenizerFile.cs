using System.Text.Json;

namespace SharpLM.Tokenization;

/// <summary>
/// The <c>tokenizer.json</c> file every tokenizer saves to its directory. Reading it turns every way it can be bad —
/// missing, unreadable, not JSON — into an <see cref="InvalidInputException"/> that names the file.
/// </summary>
public static class TokenizerFile
{
    /// <summary>"tokenizer.json", the file name every tokenizer saves under.</summary>
    public const string FileName = "tokenizer.json";

    /// <summary>Where a tokenizer saved to <paramref name="directory"/> lives.</summary>
    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    /// <summary>Parses the file; the caller disposes the document.</summary>
    public static JsonDocument ReadJson(string path) => ReadJson(path, out _);

    /// <summary>Parses the file and hands back its bytes too (for tokenizers that save the file verbatim).</summary>
    public static JsonDocument ReadJson(string path, out byte[] bytes)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "tokenizer file not found");
        try
        {
            bytes = File.ReadAllBytes(path);
            // A UTF-8 byte-order mark, which some editors write, is not JSON; JsonDocument.Parse(Stream) skipped it.
            return JsonDocument.Parse(bytes.AsMemory(bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0));
        }
        catch (JsonException e)
        {
            throw InvalidInputException.ForFile(path, $"not valid JSON ({InvalidInputException.FirstLine(e)})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw InvalidInputException.ForFile(path, $"cannot read ({InvalidInputException.FirstLine(e)})", e);
        }
    }

    /// <summary>The string property <paramref name="name"/> of an object, or null if it is absent or not a string.</summary>
    internal static string? GetString(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
