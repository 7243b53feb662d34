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
/// decontaminate: [gsm8k, arc=eval/arc_easy.jsonl]               # a data set name, a path, or NAME=PATH
/// dedup:                                                              # false turns all three off
///   exact: true
///   minhash: { threshold: 0.8, shingle_size: 5 }                        # false turns it off
///   lines: { unit: paragraph }                                          # CCNet-style; off unless given
/// pii: {}                                                               # false turns redaction off
/// </code>
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

    static readonly string[] FilterNames = ["language", "gopher_quality", "gopher_repetition", "c4", "keywords", "perplexity"];
    static readonly string[] TopLevel = ["input", "output", "rejected", "report", "reader", "threads", "batch_size", "filters", "decontaminate", "dedup", "pii"];

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

        var filters = new List<IDocumentFilter>();
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
                filters.Add(Filter(name, options, $"{where}.{name}", Resolve, config));
            }
        }

        Decontaminator? decontaminator = null;
        if (root.TryGetProperty("decontaminate", out var evals))
        {
            if (evals.ValueKind != JsonValueKind.Array) throw new InvalidInputException("decontaminate: must be a list of evaluation files");
            foreach (var file in evals.EnumerateArray())
            {
                if (file.ValueKind != JsonValueKind.String) throw new InvalidInputException("decontaminate: every entry must be a file path");
                decontaminator ??= new Decontaminator();
                string spec = file.GetString()!;
                int equals = spec.IndexOf('=');
                if (equals > 0) decontaminator.AddEvaluationFile(Resolve(spec[(equals + 1)..]), spec[..equals]);
                // A data set name ("gsm8k") unless a file of that name sits beside the config.
                else decontaminator.AddEvaluationFile(Catalog.DataStore.Default.Manifest.Find(spec) is not null && !File.Exists(Resolve(spec)) ? spec : Resolve(spec));
            }
        }

        bool exact = true;
        MinHashOptions? minhash = new();
        LineDedupOptions? lines = null;
        if (root.TryGetProperty("dedup", out var dedup))
        {
            if (IsOff(dedup)) { exact = false; minhash = null; }
            else
            {
                foreach (var p in dedup.EnumerateObject())
                    if (p.Name is not ("exact" or "minhash" or "lines")) throw new InvalidInputException($"dedup: unknown field '{p.Name}' (exact, minhash, lines)");
                if (dedup.TryGetProperty("exact", out var e)) exact = e.ValueKind == JsonValueKind.True ? true
                    : e.ValueKind == JsonValueKind.False ? false : throw new InvalidInputException("dedup.exact: must be true or false");
                if (dedup.TryGetProperty("minhash", out var m)) minhash = IsOff(m) ? null : Options<MinHashOptions>(m, "dedup.minhash");
                if (dedup.TryGetProperty("lines", out var l)) lines = IsOff(l) ? null : Options<LineDedupOptions>(l, "dedup.lines");
            }
        }
        PiiOptions? pii = new();
        if (root.TryGetProperty("pii", out var piiElement)) pii = IsOff(piiElement) ? null : Options<PiiOptions>(piiElement, "pii");

        config.Pipeline = new CleaningPipelineOptions
        {
            Filters = filters, Decontaminator = decontaminator, ExactDedup = exact, MinHash = minhash, LineDedup = lines, Pii = pii,
            Threads = root.TryGetProperty("threads", out var t) ? Int(t, "threads") : 0,
            BatchSize = root.TryGetProperty("batch_size", out var b) ? Int(b, "batch_size") : new CleaningPipelineOptions().BatchSize,
        };
        return config;
    }

    static IDocumentFilter Filter(string name, JsonElement options, string where, Func<string, string> resolve, CleaningConfig config)
    {
        bool none = options.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;
        switch (name)
        {
            case "gopher_quality": return new GopherQualityFilter(none ? null : Options<GopherQualityOptions>(options, where));
            case "gopher_repetition": return new GopherRepetitionFilter(none ? null : Options<GopherRepetitionOptions>(options, where));
            case "c4": return new C4QualityFilter(none ? null : Options<C4Options>(options, where));
            case "language":
            {
                var o = Options<LanguageFilterConfig>(options, where);
                if (o.Allowed.Count == 0) throw new InvalidInputException($"{where}.allowed: name at least one language (en, de, fr, es, zh)");
                return new LanguageFilter(o.Allowed, o.MinConfidence);
            }
            case "keywords":
            {
                var o = Options<KeywordFilterConfig>(options, where);
                if (o.File is not null) return KeywordFilter.FromFile(resolve(o.File));
                if (o.Terms.Count > 0) return new KeywordFilter(o.Terms);
                throw new InvalidInputException($"{where}: give a block-list 'file' or 'terms'");
            }
            case "perplexity":
            {
                var o = Options<PerplexityFilterConfig>(options, where);
                if (o.Reference is null) throw new InvalidInputException($"{where}.reference: a reference corpus (.txt/.jsonl) is required");
                if (config.Input is null) throw new InvalidInputException($"{where}: calibrating the band needs the pipeline's input");
                var reader = new CorpusReader(config.Reader);
                var model = new CharNGramModel(o.Order);
                foreach (var d in reader.Read(resolve(o.Reference), _ => { })) model.Train(d.Text);
                // CCNet's bands are percentiles of the corpus itself: a sample from the head of the input calibrates them.
                var sample = reader.Read(config.Input, _ => { }).Take(o.CalibrationDocuments).Select(d => d.Text);
                return new PerplexityFilter(model, sample, o.MinPercentile, o.MaxPercentile);
            }
            default: throw new InvalidInputException($"{where}: unknown filter '{name}' ({string.Join(", ", FilterNames)})");
        }
    }

    static bool IsOff(JsonElement e) => e.ValueKind is JsonValueKind.False or JsonValueKind.Null;

    static int Int(JsonElement e, string where) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) && v >= 0 ? v : throw new InvalidInputException($"{where}: must be a non-negative integer");

    static T Options<T>(JsonElement e, string where) where T : new()
    {
        if (e.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return new T();
        if (e.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{where}: options must be an object (mapping)");
        try { return e.Deserialize<T>(Json.Options) ?? new T(); }
        catch (JsonException ex) { throw new InvalidInputException($"{where}: {InvalidInputException.FirstLine(ex)}", ex); }
    }

    sealed record LanguageFilterConfig
    {
        public List<string> Allowed { get; init; } = [];
        public double MinConfidence { get; init; } = 0.5;
    }

    sealed record KeywordFilterConfig
    {
        public string? File { get; init; }
        public List<string> Terms { get; init; } = [];
    }

    sealed record PerplexityFilterConfig
    {
        public string? Reference { get; init; }
        public int Order { get; init; } = 5;
        public double MinPercentile { get; init; } = 10;
        public double MaxPercentile { get; init; } = 90;
        public int CalibrationDocuments { get; init; } = 2000;
    }
}
