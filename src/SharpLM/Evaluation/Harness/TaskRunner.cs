using SharpLM.Sandbox;
using System.Text;
using System.Text.Json;
using SharpLM.Data.Catalog;
using SharpLM.Utilization.Prompting;

namespace SharpLM.Evaluation.Harness;

/// <summary>Settings of one evaluation run, shared by its tasks.</summary>
public sealed record EvaluationOptions
{
    /// <summary>Only the first N documents of each task (null: all).</summary>
    public int? Limit { get; init; }
    /// <summary>Overrides every task's few-shot count.</summary>
    public int? NumFewshot { get; init; }
    /// <summary>Seeds the few-shot exemplar draw, sampling and bootstrap standard errors (lm-evaluation-harness's default 1234).</summary>
    public ulong Seed { get; init; } = 1234;
    /// <summary>Resolves the data set paths of task files (default: <see cref="DataStore.Default"/>: mirrors, cache, download).</summary>
    public DataStore? Data { get; init; }
    /// <summary>
    /// Read task files' absolute paths and paths with ".." as they are. Off by default: a stranger's task file
    /// could otherwise put any readable file (/proc/self/environ, credentials) into prompts and samples.jsonl.
    /// </summary>
    public bool AllowAnyPath { get; init; }
    /// <summary>Runs generated programs for code tasks; null skips those tasks with a message.</summary>
    public ICodeRunner? CodeRunner { get; init; }
}

/// <summary>Runs a generated program against its tests (a sandboxed child process); see CodeExecution.</summary>
public interface ICodeRunner
{
    /// <summary>Why code cannot run here (e.g. no python3), or null when it can.</summary>
    string? Unavailable { get; }
    /// <summary>The isolation level programs run under, recorded with each code task's result (null: not known).</summary>
    string? IsolationLevel => null;
    /// <summary>Whether each program passed, in order.</summary>
    Task<IReadOnlyList<bool>> RunAsync(IReadOnlyList<(TaskConfig Task, JsonElement Document, string Completion)> programs, CancellationToken cancellation);
}

/// <summary>Everything recorded about one document: prompt, model output, extracted answer and its scores.</summary>
public sealed record SampleRecord
{
    /// <summary>The task's name.</summary>
    public required string Task { get; init; }
    /// <summary>0-based index of the document in the task's data set.</summary>
    public required int DocIndex { get; init; }
    /// <summary>The full prompt sent to the model (description, exemplars, question).</summary>
    public required string Prompt { get; init; }
    /// <summary>The gold answer: a choice index, a string, or a list of accepted strings.</summary>
    public object? Target { get; init; }
    /// <summary>The choices scored (multiple-choice tasks).</summary>
    public IReadOnlyList<string>? Choices { get; init; }
    /// <summary>Log-likelihood of each choice in nats (multiple-choice tasks).</summary>
    public IReadOnlyList<double>? Loglikelihoods { get; init; }
    /// <summary>The model's raw generations (generation and code tasks).</summary>
    public IReadOnlyList<string>? Outputs { get; init; }
    /// <summary>The answers the task's filters extracted from <see cref="Outputs"/> (with a majority vote: each one's answer before the vote).</summary>
    public IReadOnlyList<string>? Extracted { get; init; }
    /// <summary>With repeats: the answer scored (the vote's winner, or the first); absent otherwise, where it is <see cref="Extracted"/>'s only entry.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Answer { get; init; }
    /// <summary>This document's score under each metric, by metric name.</summary>
    public SortedDictionary<string, double> Scores { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Turns a task's documents into requests of its output type, sends them to the model in one batch per type (so
/// the model can sort and batch them), and scores the answers. <see cref="TaskScoring"/> aggregates the scores.
/// </summary>
public sealed class TaskRunner(IEvaluationModel model, EvaluationOptions options)
{
    /// <summary>Scores <paramref name="task"/> (its first <see cref="EvaluationOptions.Limit"/> documents); a code task without a usable runner comes back skipped.</summary>
    public async Task<(TaskResult Result, List<SampleRecord> Samples)> RunAsync(TaskConfig task, CancellationToken cancellation = default)
    {
        var dataset = TaskDataset.Load(task, options.Data, options.AllowAnyPath);
        int count = Math.Min(dataset.Documents.Count, options.Limit ?? int.MaxValue);
        // A rolling task scores whole documents: no prompt, so no few-shot examples (even with --num-fewshot).
        var prompts = new PromptBuilder(task, dataset.Documents, task.OutputType == OutputType.LoglikelihoodRolling ? 0 : options.NumFewshot, options.Seed, options.Data, options.AllowAnyPath, model as IEmbeddingModel);
        var docs = dataset.Documents;
        var samples = task.OutputType switch
        {
            OutputType.MultipleChoice => await MultipleChoice(task, docs, count, prompts, cancellation),
            OutputType.GenerateUntil => await Generate(task, docs, count, prompts, cancellation),
            OutputType.LoglikelihoodRolling => await Rolling(task, docs, count, cancellation),
            OutputType.Code => options.CodeRunner?.Unavailable is null && options.CodeRunner is not null
                ? await Code(task, docs, count, prompts, options.CodeRunner, cancellation) : null,
            _ => throw new InvalidInputException($"{task.Task}: unknown output type"),
        };
        if (samples is null)
            return (TaskResult.Skip(task, model.Name, dataset.Hash, options, options.CodeRunner?.Unavailable ?? "no code runner configured"), []);
        var result = TaskScoring.Aggregate(task, model.Name, dataset.Hash, prompts.Shots, options, samples);
        if (task.OutputType == OutputType.Code) result = result with { Sandbox = options.CodeRunner?.IsolationLevel };
        return (result, samples);
    }

    async Task<List<SampleRecord>> MultipleChoice(TaskConfig task, IReadOnlyList<JsonElement> docs, int count, PromptBuilder prompts, CancellationToken cancellation)
    {
        var requests = new List<LoglikelihoodRequest>();
        var perDoc = new List<(string Prompt, IReadOnlyList<string> Choices, int Gold, int First)>();
        for (int i = 0; i < count; i++)
        {
            string prompt = prompts.Prompt(i);
            var choices = TaskAnswers.Choices(task, docs[i]);
            perDoc.Add((prompt, choices, TaskAnswers.Gold(task, docs[i]), requests.Count));
            requests.AddRange(choices.Select(c => new LoglikelihoodRequest(prompt, task.TargetDelimiter + c)));
        }
        var results = await model.LoglikelihoodAsync(requests, cancellation);
        return perDoc.Select((d, i) =>
        {
            var lls = results.Skip(d.First).Take(d.Choices.Count).Select(r => r.LogProbability).ToArray();
            var sample = new SampleRecord { Task = task.Task, DocIndex = i, Prompt = d.Prompt, Target = d.Gold, Choices = d.Choices, Loglikelihoods = lls };
            TaskScoring.ScoreChoice(sample, lls, d.Choices, d.Gold);
            return sample;
        }).ToList();
    }

    async Task<List<SampleRecord>> Generate(TaskConfig task, IReadOnlyList<JsonElement> docs, int count, PromptBuilder prompts, CancellationToken cancellation)
    {
        var g = task.Generation;
        int n = task.Repeats;
        var requests = Repeated(Enumerable.Range(0, count).Select(i => task.Cot is { } cot ? prompts.Prompt(i) + task.TargetDelimiter + cot.Trigger : prompts.Prompt(i)), n, g);
        var outputs = await model.GenerateAsync(requests, cancellation);
        // What the filters read: the generation, or with chain of thought the greedy answer after the reasoning; the
        // samples keep the whole continuation (reasoning, answer trigger, answer).
        IReadOnlyList<string> answers = outputs;
        if (task.Cot is { } c)
        {
            var answerRequests = requests.Select((r, k) => new GenerationRequest(r.Context + outputs[k] + "\n" + c.AnswerTrigger, c.AnswerUntil, c.AnswerMaxTokens, 0, r.Seed)).ToList();
            answers = await model.GenerateAsync(answerRequests, cancellation);
            outputs = outputs.Select((o, k) => o + "\n" + c.AnswerTrigger + answers[k]).ToList();
        }
        return Enumerable.Range(0, count).Select(i =>
        {
            var targets = TaskAnswers.Targets(task, docs[i]);
            var mine = outputs.Skip(i * n).Take(n).ToList();
            IReadOnlyList<string> extracted;
            string answer;
            try { (extracted, answer) = AnswerExtraction.ApplyAll(task.Filters, answers.Skip(i * n).Take(n).ToList()); }
            catch (InvalidInputException e) { throw new InvalidInputException($"task {task.Task}, document {i}: {e.Message}", e); }
            var sample = new SampleRecord
            {
                Task = task.Task, DocIndex = i, Prompt = requests[i * n].Context, Target = targets.Count == 1 ? targets[0] : targets,
                Outputs = mine, Extracted = n == 1 ? [answer] : extracted, Answer = n == 1 ? null : answer,
            };
            TaskScoring.ScoreGeneration(task, sample, answer, targets);
            return sample;
        }).ToList();
    }

    // n requests per context, sample s seeded with seed + s: n different completions at temperature > 0, and the same
    // n from any model that honours seeds. Each context is built once (exemplar selection may search).
    List<GenerationRequest> Repeated(IEnumerable<string> contexts, int n, GenerationSpec g) =>
        contexts.SelectMany(context => Enumerable.Range(0, n)
            .Select(s => new GenerationRequest(context, g.Until, g.MaxTokens, g.Temperature, options.Seed + (ulong)s))).ToList();

    async Task<List<SampleRecord>> Rolling(TaskConfig task, IReadOnlyList<JsonElement> docs, int count, CancellationToken cancellation)
    {
        var texts = Enumerable.Range(0, count).Select(i => PromptTemplate.Render(task.DocToText, docs[i], task.TemplateSource("doc_to_text"))).ToList();
        var results = await model.LoglikelihoodRollingAsync(texts, cancellation);
        return texts.Select((text, i) =>
        {
            var sample = new SampleRecord { Task = task.Task, DocIndex = i, Prompt = text.Length > 200 ? text[..200] + "…" : text };
            sample.Scores["loglikelihood"] = results[i].LogProbability;
            sample.Scores["tokens"] = results[i].Tokens;
            sample.Scores["words"] = Metrics.InformationMetrics.CountWords(text);
            sample.Scores["bytes"] = Encoding.UTF8.GetByteCount(text);
            sample.Scores["chars"] = text.Length;
            return sample;
        }).ToList();
    }

    async Task<List<SampleRecord>> Code(TaskConfig task, IReadOnlyList<JsonElement> docs, int count, PromptBuilder prompts, ICodeRunner runner, CancellationToken cancellation)
    {
        var g = task.Generation;
        int n = Math.Max(1, g.Samples);
        var requests = Repeated(Enumerable.Range(0, count).Select(prompts.Prompt), n, g);
        var outputs = await model.GenerateAsync(requests, cancellation);
        var programs = outputs.Select((o, k) => (task, docs[k / n], o)).ToList();
        var passed = await runner.RunAsync(programs, cancellation);
        return Enumerable.Range(0, count).Select(i =>
        {
            var mine = Enumerable.Range(i * n, n).ToArray();
            var sample = new SampleRecord
            {
                Task = task.Task, DocIndex = i, Prompt = requests[i * n].Context, Outputs = mine.Select(k => outputs[k]).ToArray(),
                Extracted = mine.Select(k => passed[k] ? "passed" : "failed").ToArray(),
            };
            TaskScoring.ScoreCode(task, sample, n, mine.Count(k => passed[k]));
            return sample;
        }).ToList();
    }
}
