using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SharpLM.Utilization.Prompting;

/// <summary>
/// The one template language of prompts, task files and prompt files alike: literal text with {{placeholders}}. A placeholder is a field path
/// ("question", "meta.answer", "test_list[0]") followed by optional filters: |trim, |after:SEP (the text after the
/// last SEP, e.g. GSM8K's "#### "), |before:SEP (before the first SEP), |join:SEP (a list joined), |strip_numbers
/// (thousands separators removed). Enough for the shipped benchmarks without a Jinja dependency.
/// </summary>
public static partial class PromptTemplate
{
    [GeneratedRegex(@"\{\{\s*(.*?)\s*\}\}", RegexOptions.Singleline)]
    private static partial Regex Placeholder();

    /// <summary>The template with every placeholder replaced by its value as text.</summary>
    public static string Render(string template, JsonElement doc) =>
        Placeholder().Replace(template, m => AsText(Evaluate(m.Groups[1].Value, doc, template)));

    /// <summary>The fields a template reads, in order of first use: the first step of each placeholder's path ("meta" for "meta.answer|trim").</summary>
    public static IReadOnlyList<string> Variables(string template) =>
        Placeholder().Matches(template).Select(m => Regex.Match(m.Groups[1].Value.Split('|')[0].Trim(), @"^[^.\[\]]*").Value).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// The value of a template that is exactly one placeholder (a list of choices, an index, a list of answers);
    /// anything else renders to a string.
    /// </summary>
    public static JsonElement Value(string template, JsonElement doc)
    {
        var m = Placeholder().Match(template);
        if (m.Success && m.Index == 0 && m.Length == template.Length) return Evaluate(m.Groups[1].Value, doc, template);
        return JsonSerializer.SerializeToElement(Render(template, doc));
    }

    /// <summary>A value as the text a prompt shows: strings as they are, numbers invariant, lists joined by ", ".</summary>
    public static string AsText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.Array => string.Join(", ", value.EnumerateArray().Select(AsText)),
        JsonValueKind.Null or JsonValueKind.Undefined => "",
        _ => value.GetRawText(),
    };

    static JsonElement Evaluate(string expression, JsonElement doc, string template)
    {
        string[] parts = expression.Split('|');
        var value = Lookup(parts[0].Trim(), doc, template);
        foreach (string filter in parts.Skip(1))
        {
            string name = filter, argument = "";
            int colon = filter.IndexOf(':');
            if (colon >= 0) (name, argument) = (filter[..colon], Unescape(filter[(colon + 1)..]));
            value = name.Trim() switch
            {
                "trim" => Text(AsText(value).Trim()),
                "after" => Text(AsText(value) is var s && s.LastIndexOf(argument, StringComparison.Ordinal) is int i and >= 0 ? s[(i + argument.Length)..] : AsText(value)),
                "before" => Text(AsText(value) is var s2 && s2.IndexOf(argument, StringComparison.Ordinal) is int j and >= 0 ? s2[..j] : AsText(value)),
                "join" => Text(value.ValueKind == JsonValueKind.Array ? string.Join(argument, value.EnumerateArray().Select(AsText)) : AsText(value)),
                "strip_numbers" => Text(AsText(value).Replace(",", "")),
                _ => throw new InvalidInputException($"template '{template}': unknown filter '{name.Trim()}' (trim, after, before, join, strip_numbers)"),
            };
        }
        return value;
    }

    static string Unescape(string s) => s.Replace("\\n", "\n").Replace("\\t", "\t");

    static JsonElement Text(string s) => JsonSerializer.SerializeToElement(s);

    /// <summary>Follows "a.b[2].c" through objects and arrays; a missing field is an error naming the template.</summary>
    static JsonElement Lookup(string path, JsonElement doc, string template)
    {
        var current = doc;
        foreach (Match step in Regex.Matches(path, @"([^.\[\]]+)|\[(\d+)\]"))
        {
            if (step.Groups[1].Success)
            {
                if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(step.Groups[1].Value, out current))
                    throw new InvalidInputException($"template '{template}': the document has no field '{path}'");
            }
            else
            {
                int index = int.Parse(step.Groups[2].Value, CultureInfo.InvariantCulture);
                if (current.ValueKind != JsonValueKind.Array || index >= current.GetArrayLength())
                    throw new InvalidInputException($"template '{template}': '{path}' is not a list with an item {index}");
                current = current[index];
            }
        }
        return current;
    }
}
