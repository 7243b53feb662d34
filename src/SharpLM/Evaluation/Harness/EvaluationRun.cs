using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpLM.IO;
using SharpLM.Runtime;

namespace SharpLM.Evaluation.Harness;

/// <summary>The scores of one task: metric → value and its standard error, with what produced them.</summary>
public sealed record TaskResult
{
    /// <summary>The task's name, e.g. "hellaswag".</summary>
    public required string Task { get; init; }
    /// <summary>The model's report name (<see cref="IEvaluationModel.Name"/>).</summary>
    public required string Model { get; init; }
    /// <summary>"sha256:" and 16 hex digits identifying the dataset files the task read.</summary>
    public required string DataHash { get; init; }
    /// <summary>Documents scored (after the limit); 0 when skipped.</summary>
    public int Documents { get; init; }
    /// <summary>Few-shot exemplars in each prompt.</summary>
    public int NumFewshot { get; init; }
    /// <summary>The run's seed: it draws the few-shot exemplars and seeds sampling and bootstrap standard errors.</summary>
    public ulong Seed { get; init; }
    /// <summary>The run's limit on documents per task; null when all were scored.</summary>
    public int? Limit { get; init; }
    /// <summary>Metric name → value, e.g. "acc", "exact_match", "bleu", "pass@1", "bits_per_byte".</summary>
    public SortedDictionary<string, double> Metrics { get; init; } = new(StringComparer.Ordinal);
    /// <summary>Standard errors of the metrics that have one (mean-type metrics: std/√n; corpus metrics: bootstrap).</summary>
    public SortedDictionary<string, double> Stderr { get; init; } = new(StringComparer.Ordinal);
    /// <summary>Why the task was not scored (e.g. no python3 or no bubblewrap for code tasks); null when it was.</summary>
    public string? Skipped { get; init; }
    /// <summary>Code tasks: the isolation level the generated programs ran under (e.g. "Bubblewrap"); null for other tasks.</summary>
    public string? Sandbox { get; init; }
    /// <summary>The task definition the scores came from.</summary>
    public required TaskConfig Config { get; init; }

    /// <summary>The result of a task that could not be scored, recording <paramref name="why"/>.</summary>
    public static TaskResult Skip(TaskConfig task, string model, string dataHash, EvaluationOptions options, string why) =>
        new() { Task = task.Task, Model = model, DataHash = dataHash, Seed = options.Seed, Limit = options.Limit, Skipped = why, Config = task };
}

/// <summary>
/// Runs tasks against one model and writes results.json (per task: metrics with standard errors, config, data
/// hash), samples.jsonl (every prompt, output, extracted answer and score) and a Markdown table.
/// </summary>
public static class EvaluationRun
{
    /// <summary>
    /// Runs <paramref name="tasks"/> in order and writes results.json, samples.jsonl and results.md into
    /// <paramref name="outDir"/> (created if needed), each atomically once every task has run. <paramref name="log"/>,
    /// when given, receives a progress line as each task starts and ends.
    /// </summary>
    public static async Task<IReadOnlyList<TaskResult>> RunAsync(IEvaluationModel model, IReadOnlyList<TaskConfig> tasks, EvaluationOptions options,
        string outDir, Action<string>? log = null, CancellationToken cancellation = default)
    {
        Directory.CreateDirectory(outDir);
        var runner = new TaskRunner(model, options);
        var results = new List<TaskResult>();
        var samples = new List<SampleRecord>();
        foreach (var task in tasks)
        {
            var timer = System.Diagnostics.Stopwatch.StartNew();
            log?.Invoke($"{task.Task}: running ({task.OutputType})");
            var (result, taskSamples) = await runner.RunAsync(task, cancellation);
            results.Add(result);
            samples.AddRange(taskSamples);
            log?.Invoke(result.Skipped is null ? $"{task.Task}: {result.Documents} documents in {timer.Elapsed.TotalSeconds:F1} s" : $"{task.Task}: skipped ({result.Skipped})");
        }
        AtomicFile.WriteAllText(Path.Combine(outDir, "results.json"), JsonSerializer.Serialize(new { model = model.Name, results }, Json.Options));
        AtomicFile.Write(Path.Combine(outDir, "samples.jsonl"), stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            foreach (var s in samples) writer.WriteLine(JsonSerializer.Serialize(s, Json.Line));
        });
        AtomicFile.WriteAllText(Path.Combine(outDir, "results.md"), Markdown(model.Name, results));
        return results;
    }

    /// <summary>lm-eval's table: task, few-shot, metric, value ± stderr.</summary>
    public static string Markdown(string model, IReadOnlyList<TaskResult> results)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder($"model: {model}\n\n| task | n | shots | metric | value | ± stderr |\n|---|---:|---:|---|---:|---:|\n");
        foreach (var r in results)
        {
            if (r.Skipped is not null) { sb.Append(c, $"| {r.Task} | | | skipped: {r.Skipped} | | |\n"); continue; }
            foreach (var (metric, value) in r.Metrics)
                sb.Append(c, $"| {r.Task} | {r.Documents} | {r.NumFewshot} | {metric} | {value:F4} | {(r.Stderr.TryGetValue(metric, out double se) ? se.ToString("F4", c) : "")} |\n");
        }
        return sb.ToString();
    }
}
