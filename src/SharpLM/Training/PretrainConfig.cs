using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpLM.Modeling;
using SharpLM.Runtime;

namespace SharpLM.Training;

/// <summary>Everything that defines a pre-training run; saved as config.json in the run directory.</summary>
public sealed record PretrainConfig
{
    /// <summary>What the run or preset is for, in words; not used by training.</summary>
    public string Description { get; init; } = "";
    /// <summary>"char", "gpt2", or a tokenizer.json path, used when raw text must be prepared.</summary>
    public string Tokenizer { get; init; } = "char";
    /// <summary>The architecture; its vocab_size is replaced by the tokenizer's when the run starts.</summary>
    public ModelConfig Model { get; init; } = new();
    /// <summary>The optimisation settings.</summary>
    public TrainingConfig Training { get; init; } = new();

    /// <summary>The file the config is saved as in the run directory.</summary>
    public const string FileName = "config.json";

    /// <summary>Checks the model and training settings and returns this config.</summary>
    /// <param name="source">Where the config came from, the prefix of the error.</param>
    /// <exception cref="InvalidInputException">A setting is out of range; names it.</exception>
    public PretrainConfig Validate(string source)
    {
        Model.Validate(source);
        Training.Validate(source);
        return this;
    }

    /// <summary>Names of the bundled presets (configs/*.json).</summary>
    public static IReadOnlyList<string> PresetNames() => typeof(PretrainConfig).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith("SharpLM.Presets.", StringComparison.Ordinal))
        .Select(n => n["SharpLM.Presets.".Length..^".json".Length]).OrderBy(n => n, StringComparer.Ordinal).ToList();

    /// <summary>The bundled preset <paramref name="name"/> (see <see cref="PresetNames"/>), validated.</summary>
    /// <exception cref="InvalidInputException">No such preset, or an invalid one.</exception>
    public static PretrainConfig Preset(string name)
    {
        using Stream? s = typeof(PretrainConfig).Assembly.GetManifestResourceStream($"SharpLM.Presets.{name}.json");
        if (s is null) throw new InvalidInputException($"preset '{name}' not found (available: {string.Join(", ", PresetNames())})");
        return (JsonSerializer.Deserialize<PretrainConfig>(s, Json.Options) ?? new()).Validate($"preset {name}");
    }

    /// <summary>Reads and validates a config file (JSON, snake_case fields).</summary>
    /// <exception cref="InvalidInputException">The file is missing, malformed or invalid; names it.</exception>
    public static PretrainConfig Load(string path) => Json.ReadFile<PretrainConfig>(path).Validate(path);

    /// <summary>
    /// Applies "--key value" overrides. A key is a field name in snake_case or kebab-case, either bare
    /// ("n_layer", "max-iters") when it names exactly one field, or qualified ("model.dropout").
    /// Values are parsed as JSON literals where they can be (numbers, true/false), else taken as strings.
    /// </summary>
    public PretrainConfig WithOverrides(IEnumerable<KeyValuePair<string, string>> overrides)
    {
        JsonNode root = JsonSerializer.SerializeToNode(this, Json.Options)!;
        foreach (var (rawKey, rawValue) in overrides)
        {
            string key = rawKey.TrimStart('-').Replace('-', '_');
            JsonObject target = Resolve(root.AsObject(), key, out string field);
            target[field] = ParseValue(rawValue);
        }
        try
        {
            return root.Deserialize<PretrainConfig>(Json.Options)!.Validate("overrides");
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"overrides: {InvalidInputException.FirstLine(e)}", e);
        }
    }

    static JsonObject Resolve(JsonObject root, string key, out string field)
    {
        int dot = key.IndexOf('.');
        if (dot >= 0)
        {
            string section = key[..dot];
            field = key[(dot + 1)..];
            if (root[section] is JsonObject obj && obj.ContainsKey(field)) return obj;
            throw new InvalidInputException($"--{key}: unknown option or config field");
        }
        var matches = new List<JsonObject>();
        if (root.ContainsKey(key) && root[key] is not JsonObject) matches.Add(root);
        foreach (var (_, node) in root)
            if (node is JsonObject obj && obj.ContainsKey(key)) matches.Add(obj);
        field = key;
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new InvalidInputException($"--{key}: unknown option or config field (fields: {string.Join(", ", FieldNames(root))})"),
            _ => throw new InvalidInputException($"--{key}: ambiguous, qualify it as section.{key}"),
        };
    }

    static IEnumerable<string> FieldNames(JsonObject root) =>
        root.SelectMany(kv => kv.Value is JsonObject obj ? obj.Select(f => f.Key) : new[] { kv.Key });

    static JsonNode? ParseValue(string value)
    {
        try
        {
            JsonNode? node = JsonNode.Parse(value);
            if (node is JsonValue) return node;
        }
        catch (JsonException) { }
        return JsonValue.Create(value);
    }
}
