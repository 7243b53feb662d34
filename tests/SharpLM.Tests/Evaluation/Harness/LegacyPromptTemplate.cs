using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SharpLM.Utilization.Prompting;
using static SharpLM.Utilization.Prompting.PromptTemplate;

namespace SharpLM.Tests.Evaluation.Harness;

/// <summary>
/// SharpLM's template mini-language as it was before templates rendered through Jinja, kept verbatim (less its
/// <c>Variables</c>, and <c>AsText</c>, which <see cref="PromptTemplate.AsText"/> keeps unchanged) as the oracle the Jinja path must match byte for byte on the shipped tasks and prompt file.
/// </summary>
internal static partial class LegacyPromptTemplate
{
    [GeneratedRegex(@"\{\{\s*(.*?)\s*\}\}", RegexOptions.Singleline)]
    private static partial Regex Placeholder();

    public static string Render(string template, JsonElement doc) =>
        Placeholder().Replace(template, m => AsText(Evaluate(m.Groups[1].Value, doc, template)));

    public static JsonElement Value(string template, JsonElement doc)
    {
        var m = Placeholder().Match(template);
        if (m.Success && m.Index == 0 && m.Length == template.Length) return Evaluate(m.Groups[1].Value, doc, template);
        return JsonSerializer.SerializeToElement(Render(template, doc));
    }

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
