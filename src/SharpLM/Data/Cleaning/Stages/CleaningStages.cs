using System.Text.Json;
using SharpLM.Data.Dedup;
using SharpLM.Data.Ingestion;
using SharpLM.Data.Privacy;
using SharpLM.Runtime;

namespace SharpLM.Data.Cleaning;

/// <summary>What a stage does to the corpus, which fixes where it can stand in the pipeline.</summary>
public enum CleaningStageKind
{
    /// <summary>A quality filter: filters run first, in the order given.</summary>
    Filter,
    /// <summary>Decontamination against evaluation sets, after the filters.</summary>
    Decontamination,
    /// <summary>De-duplication: exact, then near, then lines.</summary>
    Dedup,
    /// <summary>PII redaction, last, on what is kept.</summary>
    Privacy,
}

/// <summary>What pipelines are assembled from: the stages being switched on, with their options, before a run.</summary>
public sealed class CleaningPipelineBuilder
{
    /// <summary>Quality filters in the order they were named.</summary>
    public List<IDocumentFilter> Filters { get; } = [];
    /// <summary>Evaluation sets to decontaminate against; null when decontamination is off.</summary>
    public Decontaminator? Decontaminator { get; set; }
    /// <summary>Whether exact dedup runs.</summary>
    public bool ExactDedup { get; set; }
    /// <summary>Near-dedup options; null when off.</summary>
    public MinHashOptions? MinHash { get; set; }
    /// <summary>Line dedup options; null when off.</summary>
    public LineDedupOptions? LineDedup { get; set; }
    /// <summary>PII options; null when off.</summary>
    public PiiOptions? Pii { get; set; }

    /// <summary>Every stage off: the start of a pipeline named stage by stage (`--stages`).</summary>
    public static CleaningPipelineBuilder Empty() => new();

    /// <summary>The defaults of a pipeline file: exact and MinHash dedup and PII on, the rest off.</summary>
    public static CleaningPipelineBuilder Defaults() => new() { ExactDedup = true, MinHash = new(), Pii = new() };

    /// <summary>The options of a run with these stages.</summary>
    public CleaningPipelineOptions Build(int threads, int batchSize) => new()
    {
        Filters = Filters.ToArray(), Decontaminator = Decontaminator, ExactDedup = ExactDedup, MinHash = MinHash, LineDedup = LineDedup, Pii = Pii,
        Threads = threads, BatchSize = batchSize,
    };
}

/// <summary>What a stage's options may refer to besides themselves.</summary>
/// <param name="ResolvePath">Turns a path in the options into one to open (relative to the pipeline file, or as given on the command line).</param>
/// <param name="Input">The corpus being cleaned (a perplexity band is calibrated on its head); null when not known yet.</param>
/// <param name="Reader">How the corpus is read.</param>
public sealed record CleaningStageContext(Func<string, string> ResolvePath, string? Input, CorpusOptions Reader);

/// <summary>One entry of the <see cref="CleaningStages"/> registry.</summary>
/// <param name="Name">The stage's name: in report.json, in pipeline files and in `--stages`.</param>
/// <param name="Kind">Where it stands in the pipeline.</param>
/// <param name="Summary">What it does, in a few words (for help texts).</param>
/// <param name="Aliases">Older names that still work (earlier command-line values and pipeline-file keys).</param>
public sealed record CleaningStageInfo(string Name, CleaningStageKind Kind, string Summary, IReadOnlyList<string> Aliases)
{
    /// <summary>
    /// Switches the stage on in <paramref name="builder"/> from its options as JSON (a pipeline file's value, or
    /// what the command-line flags say): an object of snake_case options, true or absent for the defaults, false or
    /// null for off (dedup and PII). Errors are one line starting with <paramref name="where"/>.
    /// </summary>
    public void Configure(CleaningPipelineBuilder builder, JsonElement options, CleaningStageContext context, string where) => Setup(builder, options, context, where);

    /// <summary>How <see cref="Configure"/> applies the options: the one place that knows how this stage is built.</summary>
    internal Action<CleaningPipelineBuilder, JsonElement, CleaningStageContext, string> Setup { get; init; } = (_, _, _, _) => { };

    /// <summary>The name and every alias.</summary>
    public IEnumerable<string> Spellings => Aliases.Prepend(Name);
}

/// <summary>
/// The registry of cleaning stages (as PEFT keeps one mapping from method name to config and model class): each
/// stage is listed here once, with its name, its older aliases and how its options turn it on. Pipeline files
/// (<see cref="CleaningConfig"/>) and the command line (`sharplm data clean --stages`) both look names up here, so a
/// stage has one name everywhere, the one report.json counts it under. Filters run in the order given; the other
/// kinds in this list's order.
/// </summary>
public static class CleaningStages
{
    /// <summary>Stage names the pipeline itself refers to.</summary>
    public const string Decontamination = "decontamination", ExactDedup = "exact_dedup", MinHashDedup = "minhash_dedup", LineDedup = "line_dedup", Pii = "pii";

    /// <summary>Every stage, filters first, then in pipeline order.</summary>
    public static IReadOnlyList<CleaningStageInfo> All { get; } =
    [
        new("language", CleaningStageKind.Filter, "keep documents in the allowed languages", [])
        {
            Setup = (b, o, _, where) =>
            {
                var options = Options<LanguageFilterConfig>(o, where);
                if (options.Allowed.Count == 0) throw new InvalidInputException($"{where}.allowed: name at least one language (en, de, fr, es, zh)");
                b.Filters.Add(new LanguageFilter(options.Allowed, options.MinConfidence));
            },
        },
        new("gopher_quality", CleaningStageKind.Filter, "Gopher's word-count, word-length, symbol and stop-word rules", ["gopher"])
        {
            Setup = (b, o, _, where) => b.Filters.Add(new GopherQualityFilter(IsAbsent(o) ? null : Options<GopherQualityOptions>(o, where))),
        },
        new("gopher_repetition", CleaningStageKind.Filter, "Gopher's repeated line, paragraph and n-gram rules", ["repetition"])
        {
            Setup = (b, o, _, where) => b.Filters.Add(new GopherRepetitionFilter(IsAbsent(o) ? null : Options<GopherRepetitionOptions>(o, where))),
        },
        new("c4", CleaningStageKind.Filter, "C4's line and page rules", [])
        {
            Setup = (b, o, _, where) => b.Filters.Add(new C4QualityFilter(IsAbsent(o) ? null : Options<C4Options>(o, where))),
        },
        new("keywords", CleaningStageKind.Filter, "drop documents with block-listed terms", ["blocklist"])
        {
            Setup = (b, o, context, where) =>
            {
                var options = Options<KeywordFilterConfig>(o, where);
                if (options.File is not null) b.Filters.Add(KeywordFilter.FromFile(context.ResolvePath(options.File)));
                else if (options.Terms.Count > 0) b.Filters.Add(new KeywordFilter(options.Terms));
                else throw new InvalidInputException($"{where}: give a block-list 'file' or 'terms'");
            },
        },
        new("perplexity", CleaningStageKind.Filter, "CCNet's perplexity band under a character n-gram model of a reference corpus", [])
        {
            Setup = (b, o, context, where) =>
            {
                var options = Options<PerplexityFilterConfig>(o, where);
                if (options.Reference is null) throw new InvalidInputException($"{where}.reference: a reference corpus (.txt/.jsonl) is required");
                if (context.Input is null) throw new InvalidInputException($"{where}: calibrating the band needs the pipeline's input");
                var reader = new CorpusReader(context.Reader);
                var model = new CharNGramModel(options.Order);
                foreach (var d in reader.Read(context.ResolvePath(options.Reference), _ => { })) model.Train(d.Text);
                // CCNet's bands are percentiles of the corpus itself: a sample from the head of the input calibrates them.
                var sample = reader.Read(context.Input, _ => { }).Take(options.CalibrationDocuments).Select(d => d.Text);
                b.Filters.Add(new PerplexityFilter(model, sample, options.MinPercentile, options.MaxPercentile));
            },
        },
        new(Decontamination, CleaningStageKind.Decontamination, "drop documents sharing a 13-gram with evaluation sets", ["decontaminate"])
        {
            Setup = (b, o, context, where) =>
            {
                if (o.ValueKind != JsonValueKind.Array || o.GetArrayLength() == 0)
                    throw new InvalidInputException($"{where}: must be a list of evaluation files (PATH, NAME=PATH or a data set name)");
                foreach (var file in o.EnumerateArray())
                {
                    if (file.ValueKind != JsonValueKind.String) throw new InvalidInputException($"{where}: every entry must be a file path");
                    b.Decontaminator ??= new Decontaminator();
                    string spec = file.GetString()!;
                    int equals = spec.IndexOf('=');
                    if (equals > 0 && !File.Exists(context.ResolvePath(spec))) b.Decontaminator.AddEvaluationFile(context.ResolvePath(spec[(equals + 1)..]), spec[..equals]);
                    // A data set name ("gsm8k") unless a file of that name is there.
                    else if (!File.Exists(context.ResolvePath(spec)) && Catalog.DataStore.Default.Manifest.Find(spec) is not null) b.Decontaminator.AddEvaluationFile(spec);
                    else b.Decontaminator.AddEvaluationFile(context.ResolvePath(spec));
                }
            },
        },
        new(ExactDedup, CleaningStageKind.Dedup, "drop documents whose normalised text was seen before", ["exact"])
        {
            Setup = (b, o, _, where) => b.ExactDedup = o.ValueKind switch
            {
                JsonValueKind.True or JsonValueKind.Undefined => true,
                JsonValueKind.False or JsonValueKind.Null => false,
                JsonValueKind.Object when !o.EnumerateObject().Any() => true,
                _ => throw new InvalidInputException($"{where}: must be true or false"),
            },
        },
        new(MinHashDedup, CleaningStageKind.Dedup, "drop near-duplicates (MinHash-LSH)", ["minhash"])
        {
            Setup = (b, o, _, where) => b.MinHash = IsOff(o) ? null : Options<MinHashOptions>(o, where),
        },
        new(LineDedup, CleaningStageKind.Dedup, "remove lines (or paragraphs) seen in earlier documents (CCNet)", ["lines", "line"])
        {
            Setup = (b, o, _, where) => b.LineDedup = IsOff(o) ? null : Options<LineDedupOptions>(o, where),
        },
        new(Pii, CleaningStageKind.Privacy, "redact e-mail addresses, phone numbers, IP addresses, card numbers, …", [])
        {
            Setup = (b, o, _, where) => b.Pii = IsOff(o) ? null : Options<PiiOptions>(o, where),
        },
    ];

    static readonly Dictionary<string, CleaningStageInfo> BySpelling = All.SelectMany(s => s.Spellings.Select(n => (n, s))).ToDictionary(p => p.n, p => p.s, StringComparer.Ordinal);

    /// <summary>The stage named <paramref name="name"/> (or one of its aliases); null when there is none.</summary>
    public static CleaningStageInfo? Find(string name) => BySpelling.GetValueOrDefault(name);

    /// <summary>The names of the stages of <paramref name="kind"/> (all when null), comma-separated, for error messages and help.</summary>
    public static string Names(CleaningStageKind? kind = null) => string.Join(", ", All.Where(s => kind is null || s.Kind == kind).Select(s => s.Name));

    /// <summary>As <see cref="Find"/>, but an unknown name is a one-line error starting with <paramref name="where"/> that lists the names.</summary>
    public static CleaningStageInfo Resolve(string name, string where, CleaningStageKind? kind = null)
    {
        if (Find(name) is { } info && (kind is null || info.Kind == kind)) return info;
        string what = kind == CleaningStageKind.Filter ? "filter" : "stage";
        string hint = Find(name) is { } other ? $" ('{other.Name}' is not a {what}; it is set at the top level)" : "";
        throw new InvalidInputException($"{where}: unknown {what} '{name}'{hint} ({Names(kind)})");
    }

    /// <summary>The stage objects of a run, in pipeline order: the filters as given, then decontamination, exact, near and line dedup, PII.</summary>
    public static IReadOnlyList<CleaningStage> Build(CleaningPipelineOptions options)
    {
        var stages = new List<CleaningStage>();
        stages.AddRange(options.Filters.Select(f => new FilterStage(f)));
        if (options.Decontaminator is not null) stages.Add(new DecontaminationStage(options.Decontaminator));
        if (options.ExactDedup) stages.Add(new ExactDedupStage());
        if (options.MinHash is not null) stages.Add(new MinHashDedupStage(options.MinHash));
        if (options.LineDedup is not null) stages.Add(new LineDedupStage(options.LineDedup));
        if (options.Pii is not null) stages.Add(new PiiStage(options.Pii));
        for (int i = 0; i < stages.Count; i++) stages[i].Index = i;
        return stages;
    }

    internal static bool IsAbsent(JsonElement e) => e.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;

    static bool IsOff(JsonElement e) => e.ValueKind is JsonValueKind.False or JsonValueKind.Null;

    /// <summary>A snake_case options record from <paramref name="e"/>: the defaults when absent or true; unknown fields are errors.</summary>
    internal static T Options<T>(JsonElement e, string where) where T : new()
    {
        if (e.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.True) return new T();
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
