using System.Text;
using System.Text.Json;

namespace SharpLM.Tokenization.HuggingFace;

/// <summary>
/// Typed access to the fields of a <c>tokenizer.json</c>, where every way a field can be wrong becomes one
/// <see cref="InvalidInputException"/> naming the file and the field's path (e.g. <c>model.vocab</c>), so that a bad
/// file is reported where it is bad instead of surfacing later as a KeyNotFoundException or a wrong id.
/// </summary>
internal sealed class HfJson(string path)
{
    /// <summary>The file the errors name.</summary>
    public string Path { get; } = path;

    /// <summary>"{path}: {problem}".</summary>
    public InvalidInputException Invalid(string problem) => InvalidInputException.ForFile(Path, problem);

    /// <summary>Refuses a component whose type this implementation does not reproduce.</summary>
    public InvalidInputException Unsupported(string field, string? type, string supported) =>
        Invalid($"{field} '{Show(type ?? "(none)")}' is not supported (supported: {supported})");

    /// <summary>The object at <paramref name="field"/>, or null when it is absent or JSON null.</summary>
    public JsonElement? OptionalObject(JsonElement parent, string name, string field)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Object) throw Invalid($"{field} must be an object or null");
        return value;
    }

    /// <summary>The "type" string of a component object.</summary>
    public string Type(JsonElement component, string field)
    {
        if (!component.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String)
            throw Invalid($"{field}.type must be a string");
        return type.GetString()!;
    }

    /// <summary>A required string field.</summary>
    public string String(JsonElement parent, string name, string field)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind != JsonValueKind.String)
            throw Invalid($"{field}.{name} must be a string");
        return value.GetString()!;
    }

    /// <summary>A string field that may be absent or null.</summary>
    public string? OptionalString(JsonElement parent, string name, string field)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String) throw Invalid($"{field}.{name} must be a string or null");
        return value.GetString();
    }

    /// <summary>A boolean field; <paramref name="absent"/> when it is missing (Hugging Face's serde default).</summary>
    public bool Bool(JsonElement parent, string name, string field, bool absent)
    {
        if (!parent.TryGetProperty(name, out JsonElement value)) return absent;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid($"{field}.{name} must be true or false"),
        };
    }

    /// <summary>A non-negative integer field; <paramref name="absent"/> when it is missing.</summary>
    public int Int(JsonElement parent, string name, string field, int? absent = null)
    {
        if (!parent.TryGetProperty(name, out JsonElement value))
            return absent ?? throw Invalid($"{field}.{name} is missing");
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int result) || result < 0)
            throw Invalid($"{field}.{name} must be a non-negative integer");
        return result;
    }

    /// <summary>A required array field.</summary>
    public JsonElement Array(JsonElement parent, string name, string field)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind != JsonValueKind.Array)
            throw Invalid($"{field}.{name} must be an array");
        return value;
    }

    /// <summary>A one-character string field (Metaspace's replacement, Strip's content).</summary>
    public string Char(JsonElement parent, string name, string field)
    {
        string value = String(parent, name, field);
        if (value.Length == 0 || value.EnumerateRunes().Count() != 1 || !IsValid(value))
            throw Invalid($"{field}.{name} must be a single character");
        return value;
    }

    /// <summary>
    /// A pattern object <c>{"String": s}</c> or <c>{"Regex": r}</c>; returns (isRegex, text).
    /// </summary>
    public (bool IsRegex, string Text) Pattern(JsonElement parent, string field)
    {
        if (!parent.TryGetProperty("pattern", out JsonElement pattern) || pattern.ValueKind != JsonValueKind.Object)
            throw Invalid($"{field}.pattern must be an object {{\"String\": …}} or {{\"Regex\": …}}");
        if (pattern.TryGetProperty("String", out JsonElement s) && s.ValueKind == JsonValueKind.String) return (false, s.GetString()!);
        if (pattern.TryGetProperty("Regex", out JsonElement r) && r.ValueKind == JsonValueKind.String) return (true, r.GetString()!);
        throw Invalid($"{field}.pattern must be an object {{\"String\": …}} or {{\"Regex\": …}}");
    }

    /// <summary>Whether a string is well-formed UTF-16 (no lone surrogates), i.e. could come from UTF-8 text.</summary>
    public static bool IsValid(string s) => HfText.FirstLoneSurrogate(s) < 0;

    /// <summary>A token for an error message: control characters escaped, long ones cut, so the message stays one line.</summary>
    public static string Show(string token)
    {
        var text = new StringBuilder();
        foreach (char c in token.Length > 40 ? token[..40] : token)
            text.Append(char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029' ? $"\\u{(int)c:X4}" : c.ToString());
        if (token.Length > 40) text.Append('…');
        return text.ToString();
    }
}
