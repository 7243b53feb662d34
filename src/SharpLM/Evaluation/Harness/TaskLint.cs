using System.Text.Json;
using System.Text.RegularExpressions;
using SharpLM.Utilization.Prompting;

namespace SharpLM.Evaluation.Harness;

/// <summary>
/// <see cref="PromptLint"/>'s checks for an evaluation task file, whose prompt is its templates plus demonstrations drawn
/// from the data set (or a fixed prompt file): each finding names the task file's line. The checks that read documents
/// run when <c>documents</c> are given (the data set could be loaded):
/// unbound-variable (a template reads a field the documents lack), demonstration-format (the task's own filters do not
/// get a demonstration's target back out of its answer, so a model imitating the demonstrations is scored wrong),
/// no-output-format (a generation task with no demonstrations, description, answer trigger or one-line stop), too-long (prompt plus
/// max_tokens beyond the window) and contradictory-constraints (a stop sequence inside the demonstrations' answers
/// before the part the filters extract; a majority vote over a single generation).
/// </summary>
public static class TaskLint
{
    /// <summary>Documents read for the checks that need them (templates and demonstrations).</summary>
    public const int SampledDocuments = 20;

    /// <summary>
    /// Lints a prompt file or a task file (one with a top-level <c>task:</c> key), loading a task's data set for the
    /// checks that read documents; when it cannot be loaded those checks are skipped and <c>DataProblem</c> says why.
    /// </summary>
    /// <exception cref="InvalidInputException">The file cannot be read or parsed.</exception>
    public static (IReadOnlyList<LintFinding> Findings, string? DataProblem) LintFile(string path, int? contextTokens = null, Func<string, int>? countTokens = null)
    {
        if (!IsTaskFile(path)) return (PromptLint.Check(PromptFile.Load(path), contextTokens, countTokens), null);
        IReadOnlyList<JsonElement>? documents = null;
        string? problem = null;
        try
        {
            documents = TaskDataset.Load(TaskConfig.Load(path)).Documents;
        }
        catch (InvalidInputException e)
        {
            problem = $"{path}: data set not at hand, so the checks that read documents were skipped: {InvalidInputException.FirstLine(e)}";
        }
        return (Check(path, documents, contextTokens, countTokens), problem);
    }

    /// <summary>Whether <paramref name="path"/> is a task file: a top-level <c>task:</c> key.</summary>
    public static bool IsTaskFile(string path) =>
        File.Exists(path) && File.ReadLines(path).Any(l => Regex.IsMatch(l, @"^task\s*:"));

    /// <summary>The findings for the task file at <paramref name="path"/>, by line.</summary>
    /// <param name="path">The task file (its lines are searched for the keys findings point at).</param>
    /// <param name="documents">The task's documents, or null when the data set is not at hand (those checks are skipped).</param>
    /// <param name="contextTokens">The model's context window; null skips too-long.</param>
    /// <param name="countTokens">Tokens in a text (the model's tokenizer); default: characters.</param>
    /// <exception cref="InvalidInputException">The file is not a valid task file.</exception>
    public static IReadOnlyList<LintFinding> Check(string path, IReadOnlyList<JsonElement>? documents = null, int? contextTokens = null, Func<string, int>? countTokens = null)
    {
        var task = TaskConfig.Load(path);
        string[] lines = File.ReadAllLines(path);
        int LineOf(string key)
        {
            var pattern = new Regex($@"(^|[\s{{,]){Regex.Escape(key)}\s*:");
            int i = Array.FindIndex(lines, l => !l.TrimStart().StartsWith('#') && pattern.IsMatch(l));
            return i + 1; // 0 when absent: the finding is about the file as a whole
        }
        var findings = new List<LintFinding>();
        void Add(string key, string check, string message) => findings.Add(new LintFinding(path, LineOf(key), check, message));
        bool generates = task.OutputType == OutputType.GenerateUntil;
        var sample = documents?.Take(SampledDocuments).ToList();

        // unbound-variable
        if (sample is { Count: > 0 })
        {
            var templates = new List<(string Key, string Template)> { ("doc_to_text", task.DocToText) };
            if (task.DocToTarget is { } target) templates.Add(("doc_to_target", target));
            if (task.Fewshot.DocToTarget is { } shotTarget) templates.Add(("fewshot", shotTarget));
            if (task.DocToChoice is { ValueKind: JsonValueKind.String } choice) templates.Add(("doc_to_choice", choice.GetString()!));
            foreach (var (key, template) in templates)
                foreach (string v in PromptTemplate.Variables(template, task.TemplateSource(key)))
                    if (sample.FirstOrDefault(d => d.ValueKind != JsonValueKind.Object || !d.TryGetProperty(v, out _)) is { ValueKind: not JsonValueKind.Undefined } doc)
                        Add(key, "unbound-variable", $"{key} reads {{{{{v}}}}}, which document {sample.IndexOf(doc)} of the data set does not have");
        }

        // demonstration-format and the stop-sequence half of contradictory-constraints
        var regexFilters = task.Filters.Where(f => !f.MajorityVote).ToList();
        if (generates && regexFilters.Any(f => f.Regex is not null))
        {
            foreach (var (answer, gold, where) in Demonstrations(task, sample))
            {
                string extracted;
                try
                {
                    extracted = AnswerExtraction.Apply(regexFilters, answer);
                }
                catch (InvalidInputException e)
                {
                    Add("filters", "demonstration-format", e.Message);
                    break;
                }
                if (extracted == AnswerExtraction.Invalid || (gold is not null && extracted != gold.Trim()))
                {
                    Add("filters", "demonstration-format", $"the filters extract '{Clip(extracted)}' from {where}, not its target '{Clip(gold ?? "an answer")}': a model that answers like the demonstrations is scored wrong");
                    break;
                }
                if (task.Generation.Until.FirstOrDefault(stop => AnswerStart(answer, regexFilters) is int at && answer.IndexOf(stop, StringComparison.Ordinal) is int s && s >= 0 && s < at) is { } cut)
                {
                    Add("until", "contradictory-constraints", $"the stop sequence {JsonSerializer.Serialize(cut)} occurs in {where} before the answer the filters extract: generation would stop first");
                    break;
                }
            }
        }

        // no-output-format
        // A stop at a single newline bounds the answer to one line after the prompt's cue ("A:"), lm-eval's zero-shot QA format.
        bool bounded = task.Generation.Until.Any(stop => stop.Trim(' ') == "\n");
        if (generates && task.Fewshot.Num == 0 && task.Fewshot.PromptFile is null && string.IsNullOrWhiteSpace(task.Description) && task.Cot is null && !bounded)
            Add("doc_to_text", "no-output-format", "a generation task with no demonstrations, description, answer trigger or one-line stop: nothing shows or bounds what the answer should look like");

        // too-long
        // A rolling log-likelihood is scored in windows, so no document is too long for it.
        if (contextTokens is int window && sample is { Count: > 0 } && documents is not null && task.OutputType != OutputType.LoglikelihoodRolling)
        {
            countTokens ??= text => text.Length;
            var builder = new PromptBuilder(task, documents, null, 1234, allowAnyPath: true);
            int longest = Enumerable.Range(0, sample.Count).Max(i => countTokens(builder.Prompt(i)));
            int room = generates ? task.Generation.MaxTokens : 0;
            if (longest + room > window)
                Add(generates ? "generation" : "doc_to_text", "too-long", $"the longest of {sample.Count} prompts takes {longest:N0} tokens{(generates ? $" and max_tokens asks {room:N0} more" : "")}, beyond the model's {window:N0}");
        }

        // contradictory-constraints: a vote with nothing to vote over (repeats of greedy decoding are refused on loading)
        bool votes = task.Filters.Any(f => f.MajorityVote);
        if (votes && task.Repeats < 2 && task.Generation.Samples < 2)
            Add("filters", "contradictory-constraints", "majority_vote over one generation: set repeats (or generation.samples) above 1");
        return findings.OrderBy(f => f.Line).ThenBy(f => PromptLint.Checks.ToList().IndexOf(f.Check)).ToList();
    }

    /// <summary>Each demonstration's answer text with its gold target (null when the file does not say) and where it is:
    /// drawn from the documents, or the "A:" blocks of a fixed prompt file (when it can be read).</summary>
    static List<(string Answer, string? Gold, string Where)> Demonstrations(TaskConfig task, IReadOnlyList<JsonElement>? sample)
    {
        var demonstrations = new List<(string, string?, string)>();
        if (task.Fewshot.PromptFile is string file)
        {
            string text;
            try
            {
                text = System.Text.Encoding.UTF8.GetString(TaskDataset.ReadBounded(TaskDataset.ResolvePath(task, file, "fewshot.prompt_file", null, false)));
            }
            catch (InvalidInputException)
            {
                return demonstrations; // not at hand: nothing to check
            }
            foreach (string block in text.Replace("\r\n", "\n").Split("\n\n"))
                if (block.IndexOf("\nA:", StringComparison.Ordinal) is int at and >= 0)
                    demonstrations.Add((block[(at + 3)..], null, $"the demonstration at '{Clip(block)}' of {file}"));
            return demonstrations;
        }
        if (task.Fewshot.Num == 0 || sample is not { Count: > 0 }) return demonstrations;
        string shotTemplate = task.Fewshot.DocToTarget ?? task.DocToTarget ?? "";
        for (int i = 0; i < sample.Count; i++)
        {
            try
            {
                demonstrations.Add((PromptTemplate.Render(shotTemplate, sample[i], task.TemplateSource("fewshot.doc_to_target")),
                    PromptTemplate.Render(task.DocToTarget ?? shotTemplate, sample[i], task.TemplateSource("doc_to_target")), $"the demonstration drawn from document {i}"));
            }
            catch (InvalidInputException)
            {
                // unbound-variable reports it
            }
        }
        return demonstrations;
    }

    /// <summary>Where in <paramref name="answer"/> the first regex filter's match begins.</summary>
    static int? AnswerStart(string answer, IReadOnlyList<FilterSpec> filters)
    {
        var first = filters.FirstOrDefault(f => f.Regex is not null);
        if (first is null) return null;
        var matches = Regex.Matches(answer, first.Regex!, RegexOptions.CultureInvariant, AnswerExtraction.MatchTimeout);
        return matches.Count == 0 ? null : (first.Last ? matches[^1] : matches[0]).Index;
    }

    static string Clip(string text) => text.Length <= 40 ? text.Replace("\n", "\\n") : text[..37].Replace("\n", "\\n") + "...";
}
