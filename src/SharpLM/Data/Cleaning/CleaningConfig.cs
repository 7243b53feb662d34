using System.Text.Json;
using SharpLM.Data.Dedup;
using SharpLM.Data.Ingestion;
using SharpLM.Data.Privacy;
using SharpLM.Runtime;

namespace SharpLM.Data.Cleaning;

/// <summary>
/// A cleaning pipeline written down as a file (JSON, or YAML with the same shape), so a run can be repeated and
/// reviewed. Filters are a list run in the order given, each a one-key object naming the filter with its options
/// (snake_case fields of the options records; unknown fields are errors, so a typo cannot silently fall back to a
/// default):
/// <code>
/// input: raw/*.jsonl.gz
/// output: clean/web.jsonl.gz
/// rejected: clean/rejected.jsonl.gz
/// reader: { text_field: text, id_field: id }
/// filters:
///   - language: { allowed: [en, zh], min_confidence: 0.5 }
///   - gopher_quality: { min_words: 50 }
///   - gopher_repetition: {}
///   - c4: { require_terminal_punctuation: false }
///   - keywords: { file: blocklist.txt }
///   - perplexity: { reference: wiki.txt, order: 5, min_percentile: 10, max_percentile: 90 }
/// decontamination: [gsm8k, arc=eval/arc_easy.jsonl]             # a data set name, a path, or NAME=PATH
/// exact_dedup: true                                                   # on by default
/// minhash_dedup: { threshold: 0.8, shingle_size: 5 }                  # on by default; false turns it off
/// line_dedup: { unit: paragraph }                                     # CCNet-style; off unless given
/// pii: {}                                                             # on by default; false turns redaction off
/// </code>
/// Stage names are those of the <see cref="CleaningStages"/> registry, the same as `sharplm data clean --stages`
/// takes and report.json counts under. The older spellings still work: "decontaminate: [...]" and
/// "dedup: { exact: true, minhash: {...}, lines: {...} }" ("dedup: false" turns exact and near-dedup off).
/// Relative paths are relative to the config file.
/// </summary>
public sealed class CleaningConfig
{
    /// <summary>The corpus to clean (file, directory or glob), resolved against the config's folder; null when not given.</summary>
    public string? Input { get; private set; }
    /// <summary>The JSON-lines file for the kept documents (gzip when it ends in .gz); null when not given.</summary>
    public string? Output { get; private set; }
    /// <summary>Where rejected documents go, each with the reason it was dropped; null writes none.</summary>
    public string? Rejected { get; private set; }
    /// <summary>Where report.json goes; null leaves the choice to the caller (the CLI puts it beside the output).</summary>
    public string? Report { get; private set; }
    /// <summary>How the input is read: text and id fields, paragraph splitting, size limit.</summary>
    public CorpusOptions Reader { get; private set; } = new();
    /// <summary>The stages the file sets up: filters in order, decontamination, de-duplication, PII redaction, threads.</summary>
    public CleaningPipelineOptions Pipeline { get; private set; } = new();

    // Fields that are not stages; every other top-level key is a stage name (or alias) from the registry.
    static readonly string[] Fields = ["input", "output", "rejected", "report", "reader", "threads", "batch_size", "filters", "dedup"];
    static readonly string[] TopLevel = [.. Fields, .. CleaningStages.All.Where(s => s.Kind != CleaningStageKind.Filter).SelectMany(s => s.Spellings)];

    /// <summary>Reads a .json, .yaml or .yml pipeline file; any problem is a one-line error naming the file and the field.</summary>
    /// <param name="path">The pipeline file.</param>
    /// <param name="input">The input given on the command line, which overrides the file's (a perplexity band is calibrated on it).</param>
    public static CleaningConfig Load(string path, string? input = null)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "pipeline file not found");
        if (new FileInfo(path).Length > Json.MaxFileBytes) throw InvalidInputException.ForFile(path, $"too large for a pipeline file (at most {Json.MaxFileBytes >> 20} MiB)");
        string extension = Path.GetExtension(path).ToLowerInvariant();
        JsonElement root;
        try
        {
            string text = File.ReadAllText(path);
            root = extension switch
            {
                ".json" => JsonDocument.Parse(text).RootElement,
                ".yaml" or ".yml" => YamlAsJson.Parse(text),
                _ => throw InvalidInputException.ForFile(path, $"unknown pipeline format '{extension}' (.json, .yaml or .yml)"),
            };
        }
        catch (Exception e) when (e is JsonException or YamlDotNet.Core.YamlException)
        {
            throw InvalidInputException.ForFile(path, $"not valid {extension.TrimStart('.').ToUpperInvariant()}: {InvalidInputException.FirstLine(e)}", e);
        }
        try { return FromJson(root, Path.GetDirectoryName(Path.GetFullPath(path))!, input); }
        catch (InvalidInputException e) { throw InvalidInputException.ForFile(path, e.Message, e); }
        catch (JsonException e) { throw InvalidInputException.ForFile(path, InvalidInputException.FirstLine(e), e); }
    }

    static CleaningConfig FromJson(JsonElement root, string baseDirectory, string? inputOverride)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidInputException("the pipeline must be an object (mapping)");
        foreach (var property in root.EnumerateObject())
            if (!TopLevel.Contains(property.Name)) throw new InvalidInputException($"unknown field '{property.Name}' ({string.Join(", ", TopLevel)})");
        string Resolve(string p) => Path.IsPathRooted(p) ? p : Path.Combine(baseDirectory, p);
        string? PathField(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? Resolve(v.GetString()!) : null;

        var config = new CleaningConfig
        {
            Input = inputOverride ?? PathField("input"), Output = PathField("output"), Rejected = PathField("rejected"), Report = PathField("report"),
        };
        if (root.TryGetProperty("reader", out var reader)) config.Reader = Options<CorpusOptions>(reader, "reader");

        var context = new CleaningStageContext(Resolve, config.Input, config.Reader);
        var builder = CleaningPipelineBuilder.Defaults();
        if (root.TryGetProperty("filters", out var list))
        {
            if (list.ValueKind != JsonValueKind.Array) throw new InvalidInputException("filters: must be a list");
            int index = 0;
            foreach (var item in list.EnumerateArray())
            {
                string where = $"filters[{index++}]";
                var (name, options) = item.ValueKind switch
                {
                    JsonValueKind.String => (item.GetString()!, default(JsonElement)),
                    JsonValueKind.Object when item.EnumerateObject().Count() == 1 => (item.EnumerateObject().First().Name, item.EnumerateObject().First().Value),
                    _ => throw new InvalidInputException($"{where}: a filter is a name or a one-key object {{name: {{options}}}}"),
                };
                CleaningStages.Resolve(name, $"{where}.{name}", CleaningStageKind.Filter).Configure(builder, options, context, $"{where}.{name}");
            }
        }

        // The other stages are top-level keys named as in the registry; "dedup: {exact, minhash, lines}" is the older
        // spelling of the three dedup stages, and "dedup: false" turns exact and near-dedup off.
        var given = new Dictionary<string, string>(StringComparer.Ordinal); // stage → where it was set
        void Stage(string key, JsonElement value, string where)
        {
            var info = CleaningStages.Resolve(key, where);
            if (info.Kind == CleaningStageKind.Filter) throw new InvalidInputException($"{where}: '{info.Name}' is a filter; list it under 'filters'");
            if (given.TryGetValue(info.Name, out string? earlier)) throw new InvalidInputException($"{where}: stage '{info.Name}' is already set by '{earlier}'");
            given[info.Name] = where;
            info.Configure(builder, value, context, where);
        }
        foreach (var property in root.EnumerateObject())
            if (!Fields.Contains(property.Name)) Stage(property.Name, property.Value, property.Name);
        if (root.TryGetProperty("dedup", out var dedup))
        {
            if (dedup.ValueKind is JsonValueKind.False or JsonValueKind.Null)
            {
                Stage(CleaningStages.ExactDedup, dedup, "dedup");
                Stage(CleaningStages.MinHashDedup, dedup, "dedup");
            }
            else if (dedup.ValueKind != JsonValueKind.Object) throw new InvalidInputException("dedup: must be an object (exact, minhash, lines) or false");
            else
                foreach (var p in dedup.EnumerateObject())
                {
                    if (CleaningStages.Find(p.Name) is not { Kind: CleaningStageKind.Dedup })
                        throw new InvalidInputException($"dedup: unknown field '{p.Name}' ({CleaningStages.Names(CleaningStageKind.Dedup)})");
                    Stage(p.Name, p.Value, $"dedup.{p.Name}");
                }
        }

        config.Pipeline = builder.Build(
            root.TryGetProperty("threads", out var t) ? Int(t, "threads") : 0,
            root.TryGetProperty("batch_size", out var b) ? Int(b, "batch_size") : new CleaningPipelineOptions().BatchSize);
        return config;
    }

    static int Int(JsonElement e, string where) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) && v >= 0 ? v : throw new InvalidInputException($"{where}: must be a non-negative integer");

    static T Options<T>(JsonElement e, string where) where T : new() => CleaningStages.Options<T>(e, where);
}
