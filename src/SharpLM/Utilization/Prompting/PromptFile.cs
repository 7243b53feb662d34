using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SharpLM.Utilization.Prompting;

/// <summary>Machine-checkable constraints on a prompt's answer (what <see cref="PromptLint"/> checks demonstrations against).</summary>
public sealed record OutputConstraints
{
    /// <summary>The only answers allowed, if set.</summary>
    public IReadOnlyList<string>? Choices { get; init; }
    /// <summary>Fewest words an answer may have.</summary>
    public int? MinWords { get; init; }
    /// <summary>Most words an answer may have.</summary>
    public int? MaxWords { get; init; }
    /// <summary>"text" or "json": whether an answer must parse as JSON.</summary>
    public string? Format { get; init; }

    /// <summary>How <paramref name="answer"/> (trimmed) breaks the constraints, or null when it meets them.</summary>
    public string? Violation(string answer)
    {
        answer = answer.Trim();
        if (Choices is { } choices && !choices.Contains(answer)) return $"is not one of the choices ({string.Join(", ", choices)})";
        int words = Words(answer);
        if (words > MaxWords) return $"has {words} words, above max_words {MaxWords}";
        if (words < MinWords) return $"has {words} words, below min_words {MinWords}";
        if (Format == "json" && !IsJson(answer)) return "is not JSON, but format is json";
        return null;
    }

    internal static int Words(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    internal static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>A demonstration: its fields (bound to the prompt's variables and target) and the line it starts on.</summary>
public sealed record Demonstration(IReadOnlyDictionary<string, string> Fields, int Line);

/// <summary>
/// A prompt as data, with the survey's four ingredients (§ prompt design): a task description, demonstrations, context
/// and the input, plus the output format the answer must follow — in plain words for the model
/// (<see cref="OutputFormat"/>) and as <see cref="OutputConstraints"/> a program can check. Templates use
/// <see cref="PromptTemplate"/>, the task files' language, so there is one template language. Lines are kept for every
/// part, so <see cref="PromptLint"/> can say where a problem is.
/// <code>
/// description: Classify the sentiment of a movie review.
/// output_format: Answer with one word, positive or negative.
/// constraints: { choices: [positive, negative], max_words: 1 }
/// variables: [review]
/// demonstrations:
///   - { review: "A delight from start to end.", answer: positive }
/// input: "Review: {{ review }}\nSentiment:"
/// target: "{{ answer }}"
/// </code>
/// </summary>
public sealed record PromptFile
{
    /// <summary>The file it was read from.</summary>
    public required string Path { get; init; }
    /// <summary>What the task is, said to the model first.</summary>
    public string? Description { get; init; }
    /// <summary>How the answer must look, said to the model.</summary>
    public string? OutputFormat { get; init; }
    /// <summary>How the answer must look, checkable.</summary>
    public OutputConstraints? Constraints { get; init; }
    /// <summary>Background the model needs (a template).</summary>
    public string? Context { get; init; }
    /// <summary>The variables a caller binds when rendering; null: not declared.</summary>
    public IReadOnlyList<string>? Variables { get; init; }
    /// <summary>Worked examples, shown before the input in the input's format followed by the target.</summary>
    public IReadOnlyList<Demonstration> Demonstrations { get; init; } = [];
    /// <summary>The query (a template).</summary>
    public required string Input { get; init; }
    /// <summary>A demonstration's answer (a template over its fields).</summary>
    public string Target { get; init; } = "{{answer}}";
    /// <summary>The line each top-level key starts on (1-based).</summary>
    public IReadOnlyDictionary<string, int> Lines { get; init; } = new Dictionary<string, int>();

    /// <summary>The line of a top-level key, or 1.</summary>
    public int LineOf(string key) => Lines.GetValueOrDefault(key, 1);

    static readonly string[] Keys = ["description", "output_format", "constraints", "context", "variables", "demonstrations", "input", "target"];

    /// <summary>Reads a prompt file.</summary>
    /// <exception cref="InvalidInputException">A YAML syntax error, an unknown key, a value of the wrong kind, or no input: one line naming file and line.</exception>
    public static PromptFile Load(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "prompt file not found");
        if (new FileInfo(path).Length > Runtime.Json.MaxFileBytes) throw InvalidInputException.ForFile(path, "too large for a prompt file");
        var yaml = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            yaml.Load(reader);
        }
        catch (YamlException e)
        {
            throw InvalidInputException.ForFile($"{path}:{e.Start.Line}", $"YAML syntax error: {InvalidInputException.FirstLine(e.InnerException ?? e).Split(": ")[^1]}", e);
        }
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw InvalidInputException.ForFile(path, "a prompt file is a mapping of description, output_format, constraints, context, variables, demonstrations, input, target");

        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        string? description = null, outputFormat = null, context = null, input = null, target = null;
        OutputConstraints? constraints = null;
        List<string>? variables = null;
        var demonstrations = new List<Demonstration>();
        foreach (var (keyNode, value) in root.Children)
        {
            string key = ((YamlScalarNode)keyNode).Value ?? "";
            int line = (int)keyNode.Start.Line;
            string where = $"{path}:{line}";
            if (!Keys.Contains(key)) throw new InvalidInputException($"{where}: unknown key '{key}' (expected {string.Join(", ", Keys)})");
            lines[key] = line;
            switch (key)
            {
                case "description": description = Scalar(value, where, key); break;
                case "output_format": outputFormat = Scalar(value, where, key); break;
                case "context": context = Scalar(value, where, key); break;
                case "input": input = Scalar(value, where, key); break;
                case "target": target = Scalar(value, where, key); break;
                case "variables":
                    variables = (value as YamlSequenceNode ?? throw new InvalidInputException($"{where}: variables must be a list of names"))
                        .Children.Select(n => Scalar(n, $"{path}:{n.Start.Line}", "variables")).ToList();
                    break;
                case "demonstrations":
                    foreach (var item in (value as YamlSequenceNode ?? throw new InvalidInputException($"{where}: demonstrations must be a list")).Children)
                    {
                        string at = $"{path}:{item.Start.Line}";
                        var fields = (item as YamlMappingNode ?? throw new InvalidInputException($"{at}: a demonstration is a mapping of field: value"))
                            .Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value ?? "", kv => Scalar(kv.Value, at, "demonstration field"), StringComparer.Ordinal);
                        demonstrations.Add(new Demonstration(fields, (int)item.Start.Line));
                    }
                    break;
                case "constraints": constraints = ReadConstraints(value, where); break;
            }
        }
        if (string.IsNullOrEmpty(input)) throw InvalidInputException.ForFile(path, "input: required (the query template)");
        return new PromptFile
        {
            Path = path, Description = description, OutputFormat = outputFormat, Constraints = constraints, Context = context, Variables = variables,
            Demonstrations = demonstrations, Input = input, Target = target ?? "{{answer}}", Lines = lines,
        };
    }

    static string Scalar(YamlNode node, string where, string key) =>
        (node as YamlScalarNode)?.Value ?? throw new InvalidInputException($"{where}: {key} must be text, not a {(node is YamlSequenceNode ? "list" : "mapping")}");

    static OutputConstraints ReadConstraints(YamlNode node, string where)
    {
        if (node is not YamlMappingNode map) throw new InvalidInputException($"{where}: constraints must be a mapping of choices, min_words, max_words, format");
        var c = new OutputConstraints();
        foreach (var (k, v) in map.Children)
        {
            string key = ((YamlScalarNode)k).Value ?? "";
            c = key switch
            {
                "choices" => c with { Choices = (v as YamlSequenceNode ?? throw new InvalidInputException($"{where}: constraints.choices must be a list")).Children.Select(n => Scalar(n, where, "choice")).ToList() },
                "min_words" => c with { MinWords = Count(v, where, key) },
                "max_words" => c with { MaxWords = Count(v, where, key) },
                "format" => c with { Format = Scalar(v, where, key) is "text" or "json" ? Scalar(v, where, key) : throw new InvalidInputException($"{where}: constraints.format must be text or json") },
                _ => throw new InvalidInputException($"{where}: unknown constraint '{key}' (choices, min_words, max_words, format)"),
            };
        }
        return c;
    }

    static int Count(YamlNode node, string where, string key) =>
        int.TryParse(Scalar(node, where, key), out int n) && n >= 0 ? n : throw new InvalidInputException($"{where}: constraints.{key} must be a whole number ≥ 0");

    /// <summary>
    /// The prompt for <paramref name="variables"/>: description, output format, context, each demonstration (its input
    /// and target), then the input, separated by blank lines.
    /// </summary>
    /// <exception cref="InvalidInputException">A template reads a field that is not bound.</exception>
    public string Render(IReadOnlyDictionary<string, string> variables)
    {
        var parts = new List<string>();
        if (!string.IsNullOrWhiteSpace(Description)) parts.Add(Description.Trim());
        if (!string.IsNullOrWhiteSpace(OutputFormat)) parts.Add(OutputFormat.Trim());
        if (!string.IsNullOrWhiteSpace(Context)) parts.Add(PromptTemplate.Render(Context, Bind(variables), TemplateSource("context")));
        foreach (var d in Demonstrations)
            parts.Add(PromptTemplate.Render(Input, Bind(d.Fields), TemplateSource("input")) + " " + PromptTemplate.Render(Target, Bind(d.Fields), TemplateSource("target")));
        parts.Add(PromptTemplate.Render(Input, Bind(variables), TemplateSource("input")));
        return string.Join("\n\n", parts);
    }

    /// <summary>How errors name the template of <paramref name="field"/> ("prompts/sentiment.yaml: input"), so a bad field points at its file.</summary>
    public string TemplateSource(string field) => $"{Path}: {field}";

    /// <summary>Fields as the JSON document templates read.</summary>
    public static JsonElement Bind(IReadOnlyDictionary<string, string> fields)
    {
        var o = new JsonObject();
        foreach (var (k, v) in fields) o[k] = v;
        return JsonSerializer.SerializeToElement(o);
    }
}
