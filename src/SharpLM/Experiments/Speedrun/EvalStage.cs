using System.Globalization;
using System.Text.Json;
using SharpLM.Adaptation;
using SharpLM.Adaptation.Alignment;
using SharpLM.Adaptation.Formatting;
using SharpLM.Evaluation.Harness;
using SharpLM.Evaluation.Models;
using SharpLM.Inference;
using SharpLM.IO;
using SharpLM.Runtime;
using static TorchSharp.torch;
using Generator = SharpLM.Inference.Generator;

namespace SharpLM.Experiments.Speedrun;

/// <summary>One benchmark figure of one model.</summary>
public sealed record BenchmarkScore(string Model, string Task, string Metric, double Value, double? Stderr, int Documents);

/// <summary>One held-out chat prompt with its expected answer and each model's greedy reply.</summary>
public sealed record ChatSample(string Task, string Prompt, string? Answer, IReadOnlyDictionary<string, string> Replies);

/// <summary>eval.json: everything the evaluation stage measured.</summary>
public sealed record SpeedrunEvaluation
{
    /// <summary>Benchmark figures of the base, SFT and aligned models (lm-eval style task files).</summary>
    public required IReadOnlyList<BenchmarkScore> Benchmarks { get; init; }
    /// <summary>Held-out synthetic-suite scores per model: exact match, house-style rate, and for the aligned model KL to SFT.</summary>
    public required IReadOnlyDictionary<string, AlignmentScores> Chat { get; init; }
    /// <summary>The first held-out prompts with every model's reply.</summary>
    public required IReadOnlyList<ChatSample> ChatSamples { get; init; }
    /// <summary>The base model's continuation of <see cref="SpeedrunEval.SamplePrompt"/>.</summary>
    public required string BaseSample { get; init; }
}

/// <summary>
/// Stage 6: the three models side by side. `sharplm eval run` on the shipped task files (tinyshakespeare perplexity,
/// ARC-Easy and PIQA zero-shot by default) for the base, SFT and aligned models; `sharplm align eval` on held-out
/// synthetic-suite prompts (exact match, house-style rate, the aligned model's KL to the SFT model); a sample of the
/// base model; the first chat replies of each. Writes eval.json, benchmarks.png, chat.png and harness/MODEL/ (each
/// model's results.json, samples.jsonl and results.md).
/// </summary>
public sealed class EvalStage : SpeedrunStage
{
    /// <summary>The stage's folder.</summary>
    public const string Folder = "eval";
    /// <summary>The figures' file.</summary>
    public const string ResultsFile = "eval.json";
    /// <summary>Plots: benchmark accuracy per model, and held-out chat scores per model.</summary>
    public const string BenchmarkPlot = "benchmarks.png", ChatPlot = "chat.png";
    /// <summary>Chat replies kept for the report card.</summary>
    const int ChatSamples = 8;

    /// <summary>The evaluated models in order: name and stage folder.</summary>
    public static IReadOnlyList<(string Name, string Folder)> Models { get; } =
        [("base", PretrainStage.Folder), ("sft", SftStage.Folder), ("aligned", AlignStage.Folder)];

    /// <inheritdoc/>
    public override string Name => Folder;
    /// <inheritdoc/>
    public override string Description => "benchmarks and held-out chat prompts for the base, SFT and aligned models";
    /// <inheritdoc/>
    public override IReadOnlyList<string> DependsOn => [PretrainStage.Folder, SftStage.Folder, AlignStage.Folder];

    /// <inheritdoc/>
    public override object Settings(SpeedrunOptions options) => options.Eval;

    /// <inheritdoc/>
    public override async Task RunAsync(SpeedrunContext context, bool resume, CancellationToken cancellation)
    {
        var e = context.Options.Eval;
        string dir = context.StageDir(Name);
        TorchRuntime.SetThreads(context.Options.Threads);
        var device = CPU;
        var c = CultureInfo.InvariantCulture;

        var benchmarks = new List<BenchmarkScore>();
        var tasks = e.Tasks.Select(TaskConfig.Resolve).ToList();
        if (tasks.Count > 0)
            foreach (var (name, folder) in Models)
            {
                var model = CheckpointModel.Load(context.StageDir(folder), device);
                var options = new EvaluationOptions { Limit = e.Limit, Seed = (ulong)context.Options.Seed };
                var results = await EvaluationRun.RunAsync(model, tasks, options, Path.Combine(dir, "harness", name), line => context.Log($"{name}: {line}"), cancellation);
                foreach (var r in results.Where(r => r.Skipped is null))
                    foreach (var (metric, value) in r.Metrics)
                        benchmarks.Add(new BenchmarkScore(name, r.Task, metric, value, r.Stderr.TryGetValue(metric, out double se) ? se : null, r.Documents));
            }

        var (_, heldOut) = AlignmentPrompts.Synthetic(new SyntheticSuiteOptions());
        var prompts = heldOut.Take(e.ChatPrompts).ToList();
        var replies = new Dictionary<string, IReadOnlyList<string>>();
        var chat = new Dictionary<string, AlignmentScores>();
        var (sftModel, tokenizer, template) = AlignmentPolicy.LoadChatModel(context.StageDir(SftStage.Folder), device);
        using (sftModel)
        {
            manual_seed(context.Options.Seed);
            foreach (var (name, folder) in Models)
            {
                var (model, _, _) = name == "sft" ? (sftModel, tokenizer, template) : AlignmentPolicy.LoadChatModel(context.StageDir(folder), device);
                replies[name] = AlignmentEvaluation.GreedyReplies(model, tokenizer, template, prompts, e.MaxReplyTokens, device);
                // KL is measured where it means something: the aligned policy against its reference, the SFT model.
                double? kl = name == "aligned" ? AlignmentEvaluation.SequenceKl(model, sftModel, tokenizer, template, prompts, e.KlSamples, e.MaxReplyTokens, device) : null;
                chat[name] = AlignmentEvaluation.Score(prompts, replies[name], null, null, kl);
                if (model != sftModel) model.Dispose();
                context.Log(string.Create(c, $"{name}: held-out exact match {chat[name].ExactMatch:P1}, house style {chat[name].RulePreferenceRate:P1} on {prompts.Count} prompts{(kl is double k ? $", KL to sft {k:F3} nats/reply" : "")}"));
            }
        }

        var bundle = ModelBundle.Load(context.StageDir(PretrainStage.Folder), device);
        string sample = new Generator(bundle.Model, bundle.Tokenizer, device)
            .Generate(e.SamplePrompt, new SamplingOptions { MaxNewTokens = e.SampleTokens, Temperature = 0.8, Seed = (ulong)context.Options.Seed });
        bundle.Model.Dispose();

        var result = new SpeedrunEvaluation
        {
            Benchmarks = benchmarks, Chat = chat, BaseSample = sample,
            ChatSamples = prompts.Take(ChatSamples).Select((p, i) => new ChatSample(p.Task, p.Prompt[^1].Content, p.Answer, replies.ToDictionary(kv => kv.Key, kv => kv.Value[i]))).ToList(),
        };
        AtomicFile.WriteAllText(Path.Combine(dir, ResultsFile), JsonSerializer.Serialize(result, Json.Options));
        if (benchmarks.Count > 0) PlotBenchmarks(Path.Combine(dir, BenchmarkPlot), benchmarks);
        PlotChat(Path.Combine(dir, ChatPlot), chat);
    }

    /// <summary>Accuracy-type metrics (acc, acc_norm) per task, one bar per model.</summary>
    static void PlotBenchmarks(string path, IReadOnlyList<BenchmarkScore> scores)
    {
        var shown = scores.Where(s => s.Metric is "acc" or "acc_norm").ToList();
        var groups = shown.Select(s => $"{s.Task} {s.Metric}").Distinct().ToList();
        var values = Models.Select(m => groups.Select(g => shown.FirstOrDefault(s => s.Model == m.Name && $"{s.Task} {s.Metric}" == g)?.Value * 100 ?? double.NaN).ToArray()).ToList();
        GroupedBars(path, "Benchmarks (zero-shot accuracy, %)", groups, values, "%");
    }

    /// <summary>Held-out exact match and house-style rate, one bar per model.</summary>
    static void PlotChat(string path, IReadOnlyDictionary<string, AlignmentScores> chat)
    {
        string[] groups = ["held-out exact match", "house-style rate"];
        var values = Models.Select(m => new[] { chat[m.Name].ExactMatch * 100, chat[m.Name].RulePreferenceRate * 100 }).ToList();
        GroupedBars(path, "Held-out chat prompts (%)", groups, values, "%");
    }

    /// <summary>One cluster of bars per group, one colour per model, with a legend.</summary>
    static void GroupedBars(string path, string title, IReadOnlyList<string> groups, IReadOnlyList<double[]> valuesPerModel, string unit)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int width = Models.Count + 1;
        var bars = new List<ScottPlot.Bar>();
        for (int m = 0; m < Models.Count; m++)
            for (int g = 0; g < groups.Count; g++)
                if (double.IsFinite(valuesPerModel[m][g]))
                    bars.Add(new ScottPlot.Bar { Position = g * width + m, Value = valuesPerModel[m][g], FillColor = palette.GetColor(m), Label = valuesPerModel[m][g].ToString("F1", CultureInfo.InvariantCulture) });
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks(groups.Select((_, g) => g * width + (Models.Count - 1) / 2.0).ToArray(), groups.ToArray());
        for (int m = 0; m < Models.Count; m++) plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = Models[m].Name, FillColor = palette.GetColor(m) });
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.Axes.SetLimitsY(0, 110);
        plot.Title(title);
        plot.YLabel(unit);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(900, 480, ScottPlot.ImageFormat.Png));
    }
}
