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

    /// <summary>Reads and deserialises a JSON file; any failure becomes a one-line error naming the file.</summary>
    public static T ReadFile<T>(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "file not found");
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
}
