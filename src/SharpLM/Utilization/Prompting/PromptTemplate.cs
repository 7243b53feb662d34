using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using SharpLM.Templates;

namespace SharpLM.Utilization.Prompting;

/// <summary>
/// Task templates (doc_to_text, doc_to_target, doc_to_choice) and prompt files, rendered by SharpLM's one template
/// engine, Jinja (<see cref="JinjaTemplate"/>), configured as lm-evaluation-harness configures jinja2 for its task
/// files: no block trimming, the final newline kept, and an undefined field an error (StrictUndefined), so a typo fails
/// naming the file and line instead of printing "". Three filters are added for the shipped benchmarks:
/// <c>after(SEP)</c> (the text after the last SEP, or all of it when SEP is absent — GSM8K's "####"),
/// <c>before(SEP)</c> (the text before the first SEP) and <c>strip_numbers</c> (thousands separators removed).
/// Files in SharpLM's earlier mini-language keep working: its <c>|name:ARG</c> filter form is read as
/// <c>|name('ARG')</c> (see <see cref="FromLegacySyntax"/>).
/// </summary>
public static partial class PromptTemplate
{
    static readonly TemplateDialect dialect = new(TrimBlocks: false, KeepTrailingNewline: true, StrictUndefined: true,
        new Dictionary<string, Func<object?, IReadOnlyList<object?>, object?>>
        {
            ["after"] = (value, args) => TemplateValues.ToStr(value) is var s && s.LastIndexOf(Separator("after", args), StringComparison.Ordinal) is int i and >= 0
                ? s[(i + Separator("after", args).Length)..] : s,
            ["before"] = (value, args) => TemplateValues.ToStr(value) is var s && s.IndexOf(Separator("before", args), StringComparison.Ordinal) is int i and >= 0
                ? s[..i] : s,
            ["strip_numbers"] = (value, _) => TemplateValues.ToStr(value).Replace(",", "", StringComparison.Ordinal),
        });

    // Parsed once per (template, source): a task renders the same few templates for every document.
    static readonly ConcurrentDictionary<(string Template, string Source), JinjaTemplate> parsed = new();

    static string Separator(string filter, IReadOnlyList<object?> args) =>
        args is [string separator] ? separator : throw new TemplateRuntimeException($"{filter}() takes one string, the separator (e.g. {filter}('#### '))");

    /// <summary>The template rendered over the document's fields. A template that is one <c>{{ expression }}</c> prints
    /// its value as <see cref="AsText"/> does (a list as "a, b"); in longer text values print as jinja2 prints them.</summary>
    /// <param name="template">Jinja, or the earlier <c>|name:ARG</c> syntax.</param>
    /// <param name="doc">The document: a JSON object whose fields are the template's variables.</param>
    /// <param name="sourceName">How errors name the template, e.g. "tasks/gsm8k.yaml: doc_to_target".</param>
    /// <exception cref="InvalidInputException">A syntax error, a missing field or a failing filter: "{sourceName} line N: problem".</exception>
    public static string Render(string template, JsonElement doc, string sourceName = "template")
    {
        var jinja = Parse(template, sourceName);
        return jinja.SingleExpression is { } expression ? AsText(ToJson(jinja.Evaluate(expression, Variables(doc)), sourceName)) : jinja.Render(Variables(doc));
    }

    /// <summary>The fields a template reads, in order of first use: the top-level variables of the parsed template ("meta" for <c>{{ meta.answer | trim }}</c>).</summary>
    /// <exception cref="InvalidInputException">The template does not parse.</exception>
    public static IReadOnlyList<string> Variables(string template, string sourceName = "template") => Parse(template, sourceName).Variables;

    /// <summary>
    /// The value of a template that is exactly one <c>{{ expression }}</c> (a list of choices, an index, a list of
    /// answers), as JSON; anything else renders to a string.
    /// </summary>
    /// <exception cref="InvalidInputException">As <see cref="Render"/>.</exception>
    public static JsonElement Value(string template, JsonElement doc, string sourceName = "template")
    {
        var jinja = Parse(template, sourceName);
        return jinja.SingleExpression is { } expression
            ? ToJson(jinja.Evaluate(expression, Variables(doc)), sourceName)
            : JsonSerializer.SerializeToElement(jinja.Render(Variables(doc)));
    }

    /// <summary>A value as the text a prompt shows: strings as they are, numbers as their JSON text, lists joined by ", ", null as "".</summary>
    public static string AsText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.Array => string.Join(", ", value.EnumerateArray().Select(AsText)),
        JsonValueKind.Null or JsonValueKind.Undefined => "",
        _ => value.GetRawText(),
    };

    /// <summary>
    /// A template in SharpLM's earlier mini-language as Jinja: each <c>{{ path|filter|filter:ARG }}</c> whose filters
    /// use the <c>name:ARG</c> form becomes <c>{{ path | filter | filter('ARG') }}</c>, the argument taken verbatim
    /// up to the next "|" or the closing braces (spaces before "}}" excepted, as the old reader dropped them) with
    /// <c>\n</c> and <c>\t</c> read as newline and tab. Placeholders without that form are Jinja already and are left
    /// as they are, so translating a Jinja template changes nothing.
    /// </summary>
    public static string FromLegacySyntax(string template) => Placeholder().Replace(template, m =>
    {
        string[] parts = m.Groups[1].Value.Split('|');
        if (!parts.Skip(1).Any(p => LegacyFilter().IsMatch(p))) return m.Value;
        var jinja = new StringBuilder("{{ ").Append(parts[0].Trim());
        foreach (string part in parts.Skip(1))
        {
            var legacy = LegacyFilter().Match(part);
            jinja.Append(" | ").Append(legacy.Success ? $"{legacy.Groups[1].Value}({JinjaTemplate.Quote(legacy.Groups[2].Value.Replace("\\n", "\n").Replace("\\t", "\t"))})" : part.Trim());
        }
        return jinja.Append(" }}").ToString();
    });

    [GeneratedRegex(@"\{\{\s*(.*?)\s*\}\}", RegexOptions.Singleline)]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^\s*([A-Za-z_]\w*)\s*:(.*)$", RegexOptions.Singleline)]
    private static partial Regex LegacyFilter();

    static JinjaTemplate Parse(string template, string sourceName)
    {
        if (parsed.Count > 1024) parsed.Clear();
        return parsed.GetOrAdd((template, sourceName), key => JinjaTemplate.Parse(FromLegacySyntax(key.Template), key.Source, dialect));
    }

    // The document's fields as template variables (a repeated key: the last one, as json.loads keeps).
    static Dictionary<string, object?> Variables(JsonElement doc)
    {
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (doc.ValueKind == JsonValueKind.Object)
            foreach (var field in doc.EnumerateObject()) variables[field.Name] = TemplateValues.FromJson(field.Value);
        return variables;
    }

    // A template value back as JSON: strings as they are; numbers, lists and dicts through json.dumps, as Python would write them.
    static JsonElement ToJson(object? value, string sourceName)
    {
        if (value is string or Undefined) return JsonSerializer.SerializeToElement(TemplateValues.ToStr(value));
        try
        {
            return JsonDocument.Parse(TemplateValues.ToJson(value, indent: null, separators: null, sortKeys: false, ensureAscii: false)).RootElement.Clone();
        }
        catch (Exception e) when (e is TemplateRuntimeException or JsonException)
        {
            throw new InvalidInputException($"{sourceName}: the template's value has no JSON form ({InvalidInputException.FirstLine(e)})", e);
        }
    }
}
