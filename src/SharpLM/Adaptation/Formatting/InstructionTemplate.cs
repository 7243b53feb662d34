using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using SharpLM.Runtime;

namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// How one task's records become instructions (the survey's "formatting instances" from existing datasets, as in
/// FLAN and T0/PromptSource): several phrasings of the same request, each a text with <c>{{field}}</c> slots, and
/// the response the model should give. Templates are data — <c>instruction_templates/*.yaml</c>, embedded in the
/// library — validated on load: unknown keys, a slot naming no declared field, or no phrasings are errors naming the
/// file.
/// </summary>
public sealed partial record InstructionTemplate
{
    /// <summary>Task name, e.g. "multi30k_en_de".</summary>
    public required string Task { get; init; }
    /// <summary>What the task is, for people reading the template; not used in rendering. Null when the file gives none.</summary>
    public string? Description { get; init; }
    /// <summary>The record fields the phrasings and response may use.</summary>
    public required List<string> Fields { get; init; }
    /// <summary>Alternative wordings of the prompt; at least one.</summary>
    public required List<string> Phrasings { get; init; }
    /// <summary>The target text, e.g. "{{de}}".</summary>
    public required string Response { get; init; }
    /// <summary>Between few-shot exemplars, and between the last exemplar and the prompt.</summary>
    public string ExemplarSeparator { get; init; } = "\n\n";

    /// <summary>The prompt of phrasing <paramref name="phrasing"/> for <paramref name="record"/>.</summary>
    /// <exception cref="InvalidInputException">The record lacks a field the phrasing uses.</exception>
    public string RenderPrompt(int phrasing, IReadOnlyDictionary<string, string> record) => Fill(Phrasings[phrasing], record);

    /// <summary>The response for <paramref name="record"/>.</summary>
    public string RenderResponse(IReadOnlyDictionary<string, string> record) => Fill(Response, record);

    string Fill(string text, IReadOnlyDictionary<string, string> record) =>
        Slot().Replace(text, m => record.TryGetValue(m.Groups[1].Value, out string? value) ? value
            : throw new InvalidInputException($"template {Task}: the record has no field '{m.Groups[1].Value}' (it has {string.Join(", ", record.Keys)})"));

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")]
    private static partial Regex Slot();

    /// <summary>Parses a YAML or JSON template (by <paramref name="origin"/>'s extension) and validates it.</summary>
    /// <param name="text">The template file's contents.</param>
    /// <param name="origin">File name or path, named in errors.</param>
    public static InstructionTemplate Parse(string text, string origin)
    {
        InstructionTemplate template;
        try
        {
            JsonElement json = origin.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? JsonDocument.Parse(text).RootElement : YamlAsJson.Parse(text);
            template = json.Deserialize<InstructionTemplate>(Json.Options) ?? throw InvalidInputException.ForFile(origin, "empty template file");
        }
        catch (Exception e) when (e is JsonException or YamlDotNet.Core.YamlException)
        {
            throw InvalidInputException.ForFile(origin, $"not a valid instruction template: {InvalidInputException.FirstLine(e)}", e);
        }
        if (template.Phrasings is not { Count: > 0 }) throw InvalidInputException.ForFile(origin, "phrasings: at least one is needed");
        if (template.Fields is not { Count: > 0 }) throw InvalidInputException.ForFile(origin, "fields: at least one is needed");
        var texts = template.Phrasings.Select((p, i) => (Where: $"phrasings[{i}]", Text: p)).Append(("response", template.Response));
        foreach (var (where, value) in texts)
        {
            if (string.IsNullOrWhiteSpace(value)) throw InvalidInputException.ForFile(origin, $"{where}: must not be empty");
            foreach (Match m in Slot().Matches(value))
                if (!template.Fields.Contains(m.Groups[1].Value))
                    throw InvalidInputException.ForFile(origin, $"{where}: slot {{{{{m.Groups[1].Value}}}}} is not one of the fields ({string.Join(", ", template.Fields)})");
        }
        if (template.Phrasings.Distinct().Count() != template.Phrasings.Count) throw InvalidInputException.ForFile(origin, "phrasings: a phrasing is listed twice");
        return template;
    }

    /// <summary>Loads a template file (.yaml, .yml or .json).</summary>
    public static InstructionTemplate Load(string path) =>
        File.Exists(path) ? Parse(File.ReadAllText(path, Encoding.UTF8), path) : throw InvalidInputException.ForFile(path, "template file not found");
}
