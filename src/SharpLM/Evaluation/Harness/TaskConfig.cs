using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using SharpLM.Runtime;
using SharpLM.Utilization.Prompting;

namespace SharpLM.Evaluation.Harness;

/// <summary>How a task asks the model (lm-evaluation-harness's output types, plus executed code).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OutputType>))]
public enum OutputType
{
    /// <summary>Log-likelihood of each choice after the prompt; the most likely one is the answer.</summary>
    [JsonStringEnumMemberName("multiple_choice")] MultipleChoice,
    /// <summary>Greedy generation until a stop string, then answer extraction and text metrics.</summary>
    [JsonStringEnumMemberName("generate_until")] GenerateUntil,
    /// <summary>Log-likelihood of whole documents: perplexity and bits per byte.</summary>
    [JsonStringEnumMemberName("loglikelihood_rolling")] LoglikelihoodRolling,
    /// <summary>Generated programs run against tests in a sandbox: pass@k.</summary>
    [JsonStringEnumMemberName("code")] Code,
}

/// <summary>Where a task's documents come from.</summary>
public sealed record DatasetSpec
{
    /// <summary>File relative to the data root (or absolute): .jsonl, .jsonl.gz, .json (an array, or an object with "examples"), .txt.</summary>
    public string? Path { get; init; }
    /// <summary>Parallel plain-text files, one segment per line (optionally .gz): field name → file (e.g. Multi30k en/de).</summary>
    public Dictionary<string, string>? Parallel { get; init; }
    /// <summary>.txt only: the fraction range of the characters to use, e.g. [0.9, 1.0] for nanoGPT's validation split.</summary>
    public double[]? Slice { get; init; }
}

/// <summary>Few-shot examples: drawn from the task's own documents (never the document itself), or a fixed prompt file.</summary>
public sealed record FewShotSpec
{
    /// <summary>Exemplars before each question (0: zero-shot); the run's NumFewshot overrides it.</summary>
    public int Num { get; init; }
    /// <summary>A fixed few-shot prompt put before every question (BBH's chain-of-thought prompts); the text after a line "-----" if it has one.</summary>
    public string? PromptFile { get; init; }
    /// <summary>The answer shown in an exemplar, if not <see cref="TaskConfig.DocToTarget"/> (e.g. GSM8K's worked solution for chain of thought).</summary>
    public string? DocToTarget { get; init; }
    /// <summary>How exemplars are chosen (<see cref="FewShotSelection"/>): "random" (lm-eval's default), "bm25": the
    /// documents whose questions score highest against this one's, "embedding": those nearest in the evaluated model's
    /// own hidden states (Liu et al. 2022's nearest neighbours), or "mmr": near ones that are also unlike each other.</summary>
    public string Selection { get; init; } = FewShotSelection.Random;
    /// <summary>How the chosen exemplars are ordered (<see cref="FewShotSelection"/>): "given" (as selected: drawn, or most
    /// similar first), "random" (seeded per document), or "similar_last" (most similar nearest the question).</summary>
    public string Order { get; init; } = FewShotSelection.Given;
    /// <summary>With "mmr": the weight of relevance against diversity, in [0, 1] (1 is plain BM25 ranking).</summary>
    public double MmrLambda { get; init; } = 0.5;
}

/// <summary>The names <see cref="FewShotSpec.Selection"/> and <see cref="FewShotSpec.Order"/> take (one list, checked on load).</summary>
public static class FewShotSelection
{
    /// <summary>Seeded draws from the other documents.</summary>
    public const string Random = "random";
    /// <summary>BM25 nearest neighbours of the document's question among the other documents' questions.</summary>
    public const string Bm25 = "bm25";
    /// <summary>Nearest neighbours by the cosine of the evaluated model's mean final hidden states (a checkpoint only).</summary>
    public const string Embedding = "embedding";
    /// <summary>Maximal marginal relevance (Carbonell and Goldstein 1998): near the question but unlike the exemplars
    /// already chosen — BM25 relevance against cosine similarity of word counts, weighted by <see cref="FewShotSpec.MmrLambda"/>.</summary>
    public const string Mmr = "mmr";
    /// <summary>Every selection.</summary>
    public static readonly IReadOnlyList<string> Selections = [Random, Bm25, Embedding, Mmr];
    /// <summary>As selected.</summary>
    public const string Given = "given";
    /// <summary>Most similar exemplar last, nearest the question.</summary>
    public const string SimilarLast = "similar_last";
    /// <summary>Every order ("random" shuffles with a per-document seed).</summary>
    public static readonly IReadOnlyList<string> Orders = [Given, Random, SimilarLast];
}

/// <summary>Generation settings of generate_until and code tasks.</summary>
public sealed record GenerationSpec
{
    /// <summary>Stop strings: generation ends before the first of them.</summary>
    public List<string> Until { get; init; } = ["\n\n"];
    /// <summary>Most tokens generated per answer.</summary>
    public int MaxTokens { get; init; } = 256;
    /// <summary>Sampling temperature; 0 (the default) is greedy decoding.</summary>
    public double Temperature { get; init; }
    /// <summary>Samples per problem (code tasks: n for pass@k).</summary>
    public int Samples { get; init; } = 1;
}

/// <summary>
/// Zero-shot chain of thought in two stages (Kojima et al. 2022): the question is followed by a trigger ("Let's think
/// step by step.") and the model reasons; then the question, trigger and reasoning are followed by an answer trigger
/// ("Therefore, the answer (arabic numerals) is") and the model answers greedily. The filters read that answer.
/// </summary>
public sealed record CotSpec
{
    /// <summary>Put after the question (with the task's target delimiter) to start the reasoning.</summary>
    public string Trigger { get; init; } = "";
    /// <summary>Put after the reasoning (on a new line) to draw the answer out.</summary>
    public string AnswerTrigger { get; init; } = "";
    /// <summary>Most tokens of the answer stage.</summary>
    public int AnswerMaxTokens { get; init; } = 32;
    /// <summary>Stop strings of the answer stage.</summary>
    public List<string> AnswerUntil { get; init; } = ["\n"];
}

/// <summary>One step of answer extraction, applied in order to the generated text.</summary>
public sealed record FilterSpec
{
    /// <summary>Keep the first match of this regex (its first group if it has one); no match leaves "[invalid]".</summary>
    public string? Regex { get; init; }
    /// <summary>With <see cref="Regex"/>: take the last match instead of the first.</summary>
    public bool Last { get; init; }
    /// <summary>Keep only the first line of the text (after leading newlines).</summary>
    public bool FirstLine { get; init; }
    /// <summary>Trim surrounding whitespace.</summary>
    public bool Strip { get; init; }
    /// <summary>Lowercase the text (invariant culture).</summary>
    public bool Lowercase { get; init; }
    /// <summary>
    /// Across a document's <see cref="TaskConfig.Repeats"/> generations: keep the answer most of them gave (a tie goes to
    /// the one given first), as lm-evaluation-harness's majority_vote — self-consistency (Wang et al. 2023). The steps
    /// before it apply to each generation, the steps after it to the winner. A step that votes does nothing else.
    /// </summary>
    public bool MajorityVote { get; init; }
}

/// <summary>
/// A benchmark as data (lm-evaluation-harness's task YAML): where the documents are, how a document becomes a
/// prompt, a target and choices (templates with {{field}} placeholders, see <see cref="PromptTemplate"/>), how
/// few-shot examples are chosen, how answers are extracted and which metrics are reported. A new benchmark is one
/// file like those in tasks/.
/// </summary>
public sealed record TaskConfig
{
    /// <summary>The task's name, used in reports and in samples.jsonl.</summary>
    public required string Task { get; init; }
    /// <summary>How the model is asked, and so which metrics apply.</summary>
    public required OutputType OutputType { get; init; }
    /// <summary>Where the documents come from.</summary>
    public required DatasetSpec Dataset { get; init; }
    /// <summary>Text put once before the few-shot examples.</summary>
    public string Description { get; init; } = "";
    /// <summary>Where the task was read from (its file, or "NAME.yaml" for a built-in task): how errors in its templates name it.</summary>
    [JsonIgnore]
    public string Origin { get; init; } = "";

    /// <summary>How errors name the template of <paramref name="field"/>, e.g. "tasks/gsm8k.yaml: doc_to_target".</summary>
    public string TemplateSource(string field) => $"{(Origin.Length > 0 ? Origin : Task)}: {field}";

    /// <summary>The question of a document: a Jinja template over its fields ("Question: {{ question }}", see <see cref="PromptTemplate"/>).</summary>
    public string DocToText { get; init; } = "";
    /// <summary>The answer: text, a list of acceptable texts, or (multiple choice) the index of the right choice.</summary>
    public string? DocToTarget { get; init; }
    /// <summary>Multiple choice: a template that is one expression giving a list ("{{ choices }}"), or a list of templates.</summary>
    public JsonElement? DocToChoice { get; init; }
    /// <summary>Between a question and its answer, in exemplars and before each multiple-choice option scored.</summary>
    public string TargetDelimiter { get; init; } = " ";
    /// <summary>Between few-shot exemplars, and between the last one and the question.</summary>
    public string FewshotDelimiter { get; init; } = "\n\n";
    /// <summary>How few-shot exemplars are chosen.</summary>
    public FewShotSpec Fewshot { get; init; } = new();
    /// <summary>Generation settings (generate_until and code tasks).</summary>
    public GenerationSpec Generation { get; init; } = new();
    /// <summary>Answer extraction steps, applied in order to each generation.</summary>
    public List<FilterSpec> Filters { get; init; } = [];
    /// <summary>The metrics to report; each must apply to <see cref="OutputType"/> (checked on load).</summary>
    public List<string> Metrics { get; init; } = [];
    /// <summary>Code tasks: how a program is assembled and tested ("humaneval" or "mbpp").</summary>
    public string? Program { get; init; }
    /// <summary>Code tasks: the k of pass@k to report.</summary>
    public List<int> PassK { get; init; } = [1];
    /// <summary>
    /// generate_until: generations per document, each with its own seed (lm-evaluation-harness's repeats). Without a
    /// <see cref="FilterSpec.MajorityVote"/> step the first is scored; with one, the vote's winner.
    /// </summary>
    public int Repeats { get; init; } = 1;
    /// <summary>generate_until: zero-shot chain of thought in two stages (see <see cref="CotSpec"/>); null asks directly.</summary>
    public CotSpec? Cot { get; init; }

    /// <summary>A task file (.json, .yaml, .yml); problems are one-line errors naming the file.</summary>
    public static TaskConfig Load(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "task file not found");
        if (new FileInfo(path).Length > Json.MaxFileBytes) throw InvalidInputException.ForFile(path, $"too large for a task file (at most {Json.MaxFileBytes >> 20} MiB)");
        return Parse(File.ReadAllText(path), path);
    }

    static TaskConfig Parse(string text, string origin)
    {
        try
        {
            var json = origin.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? JsonDocument.Parse(text).RootElement : YamlAsJson.Parse(text);
            var task = json.Deserialize<TaskConfig>(Json.Options) ?? throw InvalidInputException.ForFile(origin, "empty task file");
            // A malformed filter regex is the task file's fault: say so on load, not mid-run.
            for (int i = 0; i < task.Filters.Count; i++)
                if (task.Filters[i].Regex is string pattern)
                {
                    try { _ = new System.Text.RegularExpressions.Regex(pattern, System.Text.RegularExpressions.RegexOptions.CultureInvariant, AnswerExtraction.MatchTimeout); }
                    catch (ArgumentException e) { throw InvalidInputException.ForFile(origin, $"filters[{i}].regex: {InvalidInputException.FirstLine(e)}", e); }
                }
            if (!FewShotSelection.Selections.Contains(task.Fewshot.Selection))
                throw InvalidInputException.ForFile(origin, $"fewshot.selection: '{task.Fewshot.Selection}' is not one of {string.Join(", ", FewShotSelection.Selections)}");
            if (!(task.Fewshot.MmrLambda is >= 0 and <= 1)) throw InvalidInputException.ForFile(origin, "fewshot.mmr_lambda: must be in [0, 1]");
            if (!FewShotSelection.Orders.Contains(task.Fewshot.Order))
                throw InvalidInputException.ForFile(origin, $"fewshot.order: '{task.Fewshot.Order}' is not one of {string.Join(", ", FewShotSelection.Orders)}");
            if (task.Repeats < 1) throw InvalidInputException.ForFile(origin, "repeats: must be at least 1");
            if (task.Cot is { } cot)
            {
                if (task.OutputType != OutputType.GenerateUntil) throw InvalidInputException.ForFile(origin, "cot: only generate_until tasks reason");
                if (string.IsNullOrWhiteSpace(cot.Trigger)) throw InvalidInputException.ForFile(origin, "cot.trigger: required (e.g. \"Let's think step by step.\")");
                if (string.IsNullOrWhiteSpace(cot.AnswerTrigger)) throw InvalidInputException.ForFile(origin, "cot.answer_trigger: required (e.g. \"Therefore, the answer is\")");
                if (cot.AnswerMaxTokens < 1) throw InvalidInputException.ForFile(origin, "cot.answer_max_tokens: must be at least 1");
            }
            if (task.Repeats > 1 && task.OutputType != OutputType.GenerateUntil)
                throw InvalidInputException.ForFile(origin, "repeats: only generate_until tasks repeat (code tasks use generation.samples)");
            if (task.Repeats > 1 && task.Generation.Temperature <= 0)
                throw InvalidInputException.ForFile(origin, $"repeats: {task.Repeats} greedy generations are one generation {task.Repeats} times; set generation.temperature above 0");
            int votes = task.Filters.Count(f => f.MajorityVote);
            if (votes > 1) throw InvalidInputException.ForFile(origin, "filters: at most one majority_vote step");
            for (int i = 0; i < task.Filters.Count; i++)
                if (task.Filters[i] is { MajorityVote: true } v && (v.Regex is not null || v.FirstLine || v.Strip || v.Lowercase))
                    throw InvalidInputException.ForFile(origin, $"filters[{i}]: a majority_vote step does nothing else (put regex, strip, … in steps of their own)");
            var known = KnownMetrics[task.OutputType];
            if (task.Metrics.FirstOrDefault(m => !known.Contains(m)) is string unknown)
                throw InvalidInputException.ForFile(origin, $"metric '{unknown}' does not apply to {task.OutputType} tasks ({string.Join(", ", known)})");
            return task with { Origin = origin };
        }
        catch (Exception e) when (e is JsonException or YamlDotNet.Core.YamlException)
        {
            throw InvalidInputException.ForFile(origin, $"not a valid task: {InvalidInputException.FirstLine(e)}", e);
        }
    }

    /// <summary>What each output type can report (a typo must not silently drop a metric).</summary>
    static readonly Dictionary<OutputType, string[]> KnownMetrics = new()
    {
        [OutputType.MultipleChoice] = ["acc", "acc_norm", "ece"],
        [OutputType.GenerateUntil] = ["exact_match", "f1", "rouge", "bleu", "chrf"],
        [OutputType.LoglikelihoodRolling] = ["word_perplexity", "byte_perplexity", "bits_per_byte"],
        [OutputType.Code] = ["pass_at_k"],
    };

    const string ResourcePrefix = "SharpLM.Tasks.";

    /// <summary>Names of the tasks that ship with SharpLM (tasks/*.yaml, embedded in the library).</summary>
    public static IReadOnlyList<string> BuiltIn { get; } = typeof(TaskConfig).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Select(n => n[ResourcePrefix.Length..^".yaml".Length]).Order(StringComparer.Ordinal).ToArray();

    /// <summary>A built-in task by name, or a task file by path.</summary>
    public static TaskConfig Resolve(string nameOrPath)
    {
        if (File.Exists(nameOrPath)) return Load(nameOrPath);
        using var stream = typeof(TaskConfig).Assembly.GetManifestResourceStream($"{ResourcePrefix}{nameOrPath}.yaml")
            ?? throw new InvalidInputException($"--tasks: unknown task '{nameOrPath}' (a task file, or one of: {string.Join(", ", BuiltIn)})");
        return Parse(new StreamReader(stream).ReadToEnd(), $"{nameOrPath}.yaml");
    }
}
