using System.Globalization;
using System.Text.Json;
using SharpLM.Adaptation.Alignment;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.IO;
using SharpLM.Runtime;
using SharpLM.Training;

namespace SharpLM.Experiments.Speedrun;

/// <summary>
/// Stage 7: the report card, as nanochat's report.md — every figure read back from the files the stages wrote (never
/// carried in memory, so a resumed speedrun's card is the same as an uninterrupted one's): a headline table, each
/// stage's table and plot (cleaning funnel, tokenizer, loss curves, SFT, DPO, benchmarks, held-out chat), samples, and
/// the command that serves the result. Writes report.md with its PNGs beside it and report.html with them inline.
/// </summary>
public sealed class ReportStage : SpeedrunStage
{
    /// <summary>The stage's folder.</summary>
    public const string Folder = "report";
    /// <summary>The report card's files.</summary>
    public const string MarkdownFile = "report.md", HtmlFile = "report.html";

    /// <inheritdoc/>
    public override string Name => Folder;
    /// <inheritdoc/>
    public override string Description => "write the report card (report.md, self-contained report.html)";
    /// <inheritdoc/>
    public override IReadOnlyList<string> DependsOn => [CleanStage.Folder, TokenizerStage.Folder, PretrainStage.Folder, SftStage.Folder, AlignStage.Folder, EvalStage.Folder];

    /// <inheritdoc/>
    public override object Settings(SpeedrunOptions options) => new { };

    /// <summary>The command that serves the speedrun's aligned model.</summary>
    public static string ServeCommand(string outDir) => $"sharplm serve --checkpoint {Path.Combine(outDir, AlignStage.Folder)} --port 8080";

    /// <inheritdoc/>
    public override Task RunAsync(SpeedrunContext context, bool resume, CancellationToken cancellation)
    {
        string dir = context.StageDir(Name);
        var card = Build(context);
        foreach (var (file, png) in card.Images) AtomicFile.WriteAllBytes(Path.Combine(dir, file), png);
        AtomicFile.WriteAllText(Path.Combine(dir, MarkdownFile), card.ToMarkdown());
        AtomicFile.WriteAllText(Path.Combine(dir, HtmlFile), card.ToHtml());
        context.Log($"report card → {Path.Combine(dir, MarkdownFile)}, {Path.Combine(dir, HtmlFile)}");
        return Task.CompletedTask;
    }

    static ReportCard Build(SpeedrunContext context)
    {
        var c = CultureInfo.InvariantCulture;
        string Dir(string stage) => context.StageDir(stage);
        string In(string stage, string file) => Path.Combine(Dir(stage), file);
        byte[] Png(string stage, string file) => File.ReadAllBytes(In(stage, file));
        string P(double v) => (v * 100).ToString("F1", c) + " %";

        var markers = SpeedrunRunner.Stages.Where(s => s.Name != Folder).Select(s => StageMarker.Read(Dir(s.Name))
            ?? throw InvalidInputException.ForFile(Dir(s.Name), "has no stage.json: the stage did not finish")).ToList();
        using var cleaning = Json.ReadDocument(In(CleanStage.Folder, CleanStage.ReportFile));
        var funnel = Funnel(cleaning.RootElement);
        var tokenizer = Json.ReadFile<TokenizerStats>(In(TokenizerStage.Folder, TokenizerStage.StatsFile));
        var pretrain = Json.ReadFile<TrainingSummary>(In(PretrainStage.Folder, Trainer.SummaryFile));
        var sft = Json.ReadFile<SftRunSummary>(In(SftStage.Folder, SftRun.SummaryFile));
        var align = Json.ReadFile<AlignmentSummary>(In(AlignStage.Folder, DpoTrainer.SummaryFile));
        var eval = Json.ReadFile<SpeedrunEvaluation>(In(EvalStage.Folder, EvalStage.ResultsFile));
        var o = context.Options;
        double stageSeconds = markers.Sum(m => m.Seconds);

        var card = new ReportCard("SharpLM speedrun report card");
        card.Text(string.Create(c, $"The survey's lifecycle on {o.Corpus}, one command (sharplm speedrun). Finished {markers[^1].Finished:yyyy-MM-dd HH:mm} UTC; " +
            $"{Environment.ProcessorCount} cores; seed {o.Seed}. Every figure below is read from the stage folders under {context.OutDir}."));

        var first = funnel[0];
        var last = funnel[^1];
        var rows = new List<IReadOnlyList<string>>
        {
            Row("cleaned corpus", string.Create(c, $"{last.Out:N0} of {first.In:N0} documents kept ({last.BytesOut / 1e6:F2} of {first.BytesIn / 1e6:F2} MB)"), "clean/report.json"),
            Row("tokenizer", string.Create(c, $"{tokenizer.VocabSize:N0} tokens, {tokenizer.BytesPerToken:F2} bytes per token"), "tokenizer/stats.json"),
            Row("pre-training", string.Create(c, $"val loss {pretrain.FinalValLoss:F4} after {pretrain.Iters:N0} steps ({pretrain.Params:N0} parameters, {pretrain.TokensPerSecond:N0} tok/s)"), "pretrain/summary.json"),
            Row("SFT", $"held-out exact match {P(sft.BaseExactMatch)} → {P(sft.Training.FinalExactMatch ?? double.NaN)} after {sft.Training.Iters:N0} steps", "sft/sft_summary.json"),
            Row("alignment (DPO)", $"house-style rate {P(eval.Chat["sft"].RulePreferenceRate)} → {P(eval.Chat["aligned"].RulePreferenceRate)}, held-out exact match {P(eval.Chat["sft"].ExactMatch)} → {P(eval.Chat["aligned"].ExactMatch)}, " +
                $"KL to SFT {ComparisonReport.F(eval.Chat["aligned"].KlToReference, "F3")} nats/reply", "eval/eval.json"),
        };
        foreach (var group in eval.Benchmarks.Where(b => b.Metric is "acc" or "bits_per_byte").GroupBy(b => (b.Task, b.Metric)))
            rows.Add(Row($"{group.Key.Task} {group.Key.Metric}", string.Join(", ", group.Select(b => $"{b.Model} {b.Value.ToString("F4", c)}")), "eval/eval.json"));
        rows.Add(Row("wall time", string.Create(c, $"{SpeedrunRunner.Duration(stageSeconds)} (sum of the stages' completing runs)"), "*/stage.json"));
        card.Section("Headline").Table(["", "result", "from"], rows);

        card.Section("Stages").Table(["stage", "seconds", "finished (UTC)", "resumed"],
            markers.Select(m => Row(m.Stage, m.Seconds.ToString("F1", c), m.Finished.ToString("yyyy-MM-dd HH:mm:ss", c), m.Resumed ? "yes" : "no")));

        card.Section("1. Cleaning").Text("One document per paragraph, through Gopher's repetition filter, decontamination (13-gram overlap with " +
            (o.Clean.Decontaminate.Count == 0 ? "no benchmark" : string.Join(", ", o.Clean.Decontaminate)) + "), exact and MinHash de-duplication, and PII redaction.")
            .Table(["stage", "docs in", "docs out", "MB in", "MB out", "rejected by reason"],
                funnel.Select(f => Row(f.Stage, f.In.ToString("N0", c), f.Out.ToString("N0", c), (f.BytesIn / 1e6).ToString("F2", c), (f.BytesOut / 1e6).ToString("F2", c), f.Reasons)))
            .Png("funnel.png", Png(CleanStage.Folder, CleanStage.PlotFile), "Cleaning funnel");

        card.Section("2. Tokenizer").Table(["vocabulary", "merges", "special tokens", "bytes per token", "training seconds"],
            [Row(tokenizer.VocabSize.ToString("N0", c), tokenizer.Merges.ToString("N0", c), string.Join(" ", tokenizer.SpecialTokens), tokenizer.BytesPerToken.ToString("F3", c), tokenizer.Seconds.ToString("F1", c))])
            .Text("Longest learned tokens: " + string.Join(", ", tokenizer.LongestTokens.Select(t => $"\"{t.Replace("\n", "\\n")}\"")));

        card.Section("3. Pre-training").Table(["metric", "value"],
        [
            Row("preset", o.Pretrain.Preset + (o.Pretrain.Overrides.Count == 0 ? "" : " with " + string.Join(", ", o.Pretrain.Overrides.Select(kv => $"{kv.Key}={kv.Value}")))),
            Row("final train loss", pretrain.FinalTrainLoss.ToString("F4", c)),
            Row("final val loss", pretrain.FinalValLoss.ToString("F4", c)),
            Row("steps", pretrain.Iters.ToString("N0", c)),
            Row("parameters", pretrain.Params.ToString("N0", c)),
            Row("tokens/s", pretrain.TokensPerSecond.ToString("N0", c)),
            Row("MFU (vs measured fp32 matmul peak)", string.Create(c, $"{pretrain.Mfu * 100:F1} % of {pretrain.MatmulPeakGflops:F0} GFLOP/s")),
            Row("peak RSS", string.Create(c, $"{pretrain.PeakRssMb:F0} MB")),
        ]).Png("pretrain-loss.png", Png(PretrainStage.Folder, LossCurvePlot.FileName), "Pre-training loss");

        card.Section("4. Instruction tuning (SFT)").Table(["metric", "value"],
        [
            Row("method", $"{sft.Method}, {o.Sft.MaxIters:N0} steps, lr {o.Sft.LearningRate.ToString("G", c)}, {P(o.Sft.StyledReplies)} of replies in the house style"),
            Row("training conversations", sft.TrainExamples.ToString("N0", c)),
            Row("held-out exact match before", P(sft.BaseExactMatch)),
            Row("held-out exact match after", P(sft.Training.FinalExactMatch ?? double.NaN)),
            Row("held-out phrasings exact match", sft.HeldOutPhrasingExactMatch is double h ? P(h) : "—"),
            Row("train seconds", sft.Training.TrainSeconds.ToString("F1", c)),
        ]).Table(["task", "held-out exact match"], sft.PerTaskExactMatch.Select(kv => Row(kv.Key, P(kv.Value))))
            .Png("sft-loss.png", Png(SftStage.Folder, LossCurvePlot.FileName), "SFT loss");

        card.Section("5. Alignment (DPO)").Table(["metric", "value"],
            new[] { Row("algorithm", $"{align.Algorithm} ({align.Method}), {align.Iters} steps, β {o.Align.Beta.ToString("G", c)}, lr {o.Align.LearningRate.ToString("G", c)}"),
                    Row("trainable parameters", align.TrainableParameters.ToString("N0", c)) }
            .Concat(align.Final.Select(kv => Row(kv.Key, kv.Value.ToString("G5", c))))
            .Append(Row("train seconds", align.TrainSeconds.ToString("F1", c))))
            .Png("dpo-loss.png", Png(AlignStage.Folder, "loss.png"), "DPO loss")
            .Png("dpo-rewards.png", Png(AlignStage.Folder, "rewards.png"), "DPO implicit rewards");

        card.Section("6. Evaluation");
        if (eval.Benchmarks.Count > 0)
        {
            card.Text($"Task files (lm-evaluation-harness style), zero-shot, first {(o.Eval.Limit is int l ? l.ToString("N0", c) : "all")} documents of each; each model's results.json is in eval/harness/.")
                .Table(["task", "metric", .. EvalStage.Models.Select(m => m.Name)],
                    eval.Benchmarks.GroupBy(b => (b.Task, b.Metric)).Select(g => Row([g.Key.Task, g.Key.Metric,
                        .. EvalStage.Models.Select(m => g.FirstOrDefault(b => b.Model == m.Name) is { } b ? b.Value.ToString("F4", c) + (b.Stderr is double se ? " ± " + se.ToString("F4", c) : "") : "—")])));
            if (File.Exists(In(EvalStage.Folder, EvalStage.BenchmarkPlot))) card.Png("benchmarks.png", Png(EvalStage.Folder, EvalStage.BenchmarkPlot), "Benchmarks per model");
        }
        card.Text(string.Create(c, $"Held-out synthetic-suite prompts ({eval.Chat["sft"].Prompts} prompts whose instances were never trained on), greedy replies of at most {o.Eval.MaxReplyTokens} tokens; KL is Σ(log π − log π_sft) over {o.Eval.KlSamples} sampled replies per prompt."))
            .Table(["model", "held-out exact match", "house-style rate", "KL to SFT (nats/reply)"],
                EvalStage.Models.Select(m => Row(m.Name, P(eval.Chat[m.Name].ExactMatch), P(eval.Chat[m.Name].RulePreferenceRate), ComparisonReport.F(eval.Chat[m.Name].KlToReference, "F3"))))
            .Png("chat.png", Png(EvalStage.Folder, EvalStage.ChatPlot), "Held-out chat scores per model");

        card.Section("7. Samples").Text($"The base model after \"{o.Eval.SamplePrompt}\" ({o.Eval.SampleTokens} tokens, temperature 0.8):")
            .Preformatted(eval.BaseSample)
            .Text("Held-out chat prompts and each model's greedy reply:")
            .Table(["task", "prompt", "expected", .. EvalStage.Models.Select(m => m.Name)],
                eval.ChatSamples.Select(s => Row([s.Task, s.Prompt, s.Answer ?? "", .. EvalStage.Models.Select(m => s.Replies[m.Name])])));

        card.Section("Serve it").Text("The aligned model speaks the OpenAI API (and its chat template) with:").Preformatted(ServeCommand(context.OutDir));
        return card;
    }

    static IReadOnlyList<string> Row(params string[] cells) => cells;

    /// <summary>One row per pipeline stage of clean/report.json, in pipeline order.</summary>
    static List<(string Stage, long In, long Out, long BytesIn, long BytesOut, string Reasons)> Funnel(JsonElement report)
    {
        var stages = report.GetProperty("stages");
        return report.GetProperty("stage_order").EnumerateArray().Select(e => e.GetString()!).Select(name =>
        {
            var s = stages.GetProperty(name);
            string reasons = string.Join("\n", s.GetProperty("rejected").EnumerateObject().Select(r => $"{r.Name} {r.Value.GetInt64():N0}"));
            return (name, s.GetProperty("documents_in").GetInt64(), s.GetProperty("documents_out").GetInt64(), s.GetProperty("bytes_in").GetInt64(), s.GetProperty("bytes_out").GetInt64(), reasons);
        }).ToList();
    }
}
