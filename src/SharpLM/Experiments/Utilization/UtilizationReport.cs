using SharpLM.IO;

namespace SharpLM.Experiments.Utilization;

/// <summary>Accuracy with k demonstrations.</summary>
public sealed record ShotPoint(int K, double Accuracy);

/// <summary>Accuracy of the majority answer over n samples.</summary>
public sealed record VotePoint(int N, double Accuracy);

/// <summary>How a part's model was trained: "next token" over random windows of its text, or "packed examples": next token over whole examples (problems, conversations) packed into rows.</summary>
public sealed record TrainingRun(string Objective, long Params, int ContextLength, int Iters, double TrainSeconds, double FinalLoss);

/// <summary>In-context learning: accuracy on new mappings by number of demonstrations, and by how two are chosen from eight.</summary>
public sealed record IclResult(IReadOnlyList<ShotPoint> Curve, IReadOnlyDictionary<string, double> Selection, TrainingRun Training, double Seconds);

/// <summary>Chain-of-thought: direct vs step-by-step on held-out 5-step problems; self-consistency on a subset.</summary>
public sealed record CotResult(double Direct, double ChainOfThought, IReadOnlyList<VotePoint> SelfConsistency, double GreedyOnSubset, int SubsetSize,
    TrainingRun Training, double Seconds);

/// <summary>Tools: exact match with and without the calculator, on longer problems than training used and on training-length ones.</summary>
public sealed record ToolsResult(double LongNoTool, double LongTool, double ShortNoTool, double ShortTool, double CallsPerToolProblem, TrainingRun Training, double Seconds);

/// <summary>Retrieval: exact match closed-book vs with retrieved passages; how often the right fact card was retrieved and cited.</summary>
public sealed record RagResult(double ClosedBook, double Augmented, double RetrievalRecall, double CitationAccuracy, TrainingRun Training, double Seconds);

/// <summary>One claim of the survey: a baseline, a treatment, the gap in points and the target it should reach.</summary>
public sealed record Claim(string Name, string Baseline, double BaselineAccuracy, string Treatment, double TreatmentAccuracy, double GapPoints, double TargetPoints)
{
    /// <summary>The gap reached the target.</summary>
    public bool Met => GapPoints >= TargetPoints - 1e-9;
}

/// <summary>Everything <see cref="UtilizationExperiment"/> measured.</summary>
public sealed record UtilizationReport
{
    /// <summary>The run's seed.</summary>
    public int Seed { get; init; }
    /// <summary>The factor on every part's training steps.</summary>
    public double StepScale { get; init; }
    /// <summary>Test items per condition.</summary>
    public int TestItems { get; init; }
    /// <summary>Part 1, when run.</summary>
    public IclResult? Icl { get; init; }
    /// <summary>Part 2, when run.</summary>
    public CotResult? Cot { get; init; }
    /// <summary>Part 3, when run.</summary>
    public ToolsResult? Tools { get; init; }
    /// <summary>Part 4, when run.</summary>
    public RagResult? Rag { get; init; }
    /// <summary>Seconds for the whole experiment.</summary>
    public double WallSeconds { get; init; }

    /// <summary>The targets, as measured: each gap in accuracy points.</summary>
    public IReadOnlyList<Claim> Claims
    {
        get
        {
            var claims = new List<Claim>();
            static double Points(double a, double b) => Math.Round(100 * (b - a), 1);
            if (Icl is { } icl)
            {
                double k0 = icl.Curve.First(p => p.K == 0).Accuracy, k8 = icl.Curve.First(p => p.K == 8).Accuracy;
                claims.Add(new Claim("ICL on new functions", "k = 0", k0, "k = 8", k8, Points(k0, k8), 30));
            }
            if (Cot is { } cot)
            {
                claims.Add(new Claim("Chain-of-thought", "direct", cot.Direct, "CoT trigger", cot.ChainOfThought, Points(cot.Direct, cot.ChainOfThought), 20));
                double maj8 = cot.SelfConsistency.First(v => v.N == 8).Accuracy;
                claims.Add(new Claim("Self-consistency", "greedy CoT", cot.GreedyOnSubset, "maj@8", maj8, Points(cot.GreedyOnSubset, maj8), 0));
            }
            if (Tools is { } tools) claims.Add(new Claim("Calculator tool (longer problems)", "no tool", tools.LongNoTool, "calculator", tools.LongTool, Points(tools.LongNoTool, tools.LongTool), 30));
            if (Rag is { } rag) claims.Add(new Claim("Retrieval augmentation", "closed-book", rag.ClosedBook, $"BM25 top-{UtilizationExperiment.RagPassages}", rag.Augmented, Points(rag.ClosedBook, rag.Augmented), 50));
            return claims;
        }
    }
}

/// <summary>report.json, report.md and the plots of <see cref="UtilizationExperiment"/>.</summary>
public static class UtilizationReportWriter
{
    static string P(double a) => ComparisonReport.F(100 * a, "F1") + " %";

    /// <summary>Writes report.json, report.md and the PNGs of <paramref name="r"/> into <paramref name="dir"/>.</summary>
    public static void Write(string dir, UtilizationReport r)
    {
        var md = new System.Text.StringBuilder();
        md.Append(ComparisonReport.Table(["claim", "baseline", "accuracy", "treatment", "accuracy", "gap (points)", "target", "met"],
            r.Claims.Select(c => (IReadOnlyList<string>)[c.Name, c.Baseline, P(c.BaselineAccuracy), c.Treatment, P(c.TreatmentAccuracy),
                ComparisonReport.F(c.GapPoints, "+0.0;-0.0;0.0"), $"≥ {c.TargetPoints:0}", c.Met ? "yes" : "**no**"])));
        if (r.Icl is { } icl)
        {
            md.Append($"\n## In-context learning ({r.TestItems} new random letter mappings)\n\n")
              .Append(ComparisonReport.Table(["k demonstrations", .. icl.Curve.Select(p => p.K.ToString())], [["accuracy", .. icl.Curve.Select(p => P(p.Accuracy))]]))
              .Append($"\nChoosing {UtilizationExperiment.SelectionShots} of a function's 8 labelled pairs (most similar last):\n\n")
              .Append(ComparisonReport.Table(["selection", "accuracy"], icl.Selection.Select(s => (IReadOnlyList<string>)[s.Key, P(s.Value)])));
        }
        if (r.Cot is { } cot)
        {
            md.Append($"\n## Chain-of-thought ({r.TestItems} held-out 5-step problems)\n\n")
              .Append(ComparisonReport.Table(["prompt", "accuracy"], [["direct (\"The answer is\")", P(cot.Direct)], ["CoT (\"Let's think step by step.\")", P(cot.ChainOfThought)]]))
              .Append($"\nSelf-consistency on the first {cot.SubsetSize} (temperature {UtilizationExperiment.SelfConsistencyTemperature}; greedy CoT there: {P(cot.GreedyOnSubset)}):\n\n")
              .Append(ComparisonReport.Table(["n samples", .. cot.SelfConsistency.Select(v => v.N.ToString())], [["maj@n", .. cot.SelfConsistency.Select(v => P(v.Accuracy))]]));
        }
        if (r.Tools is { } tools)
            md.Append("\n## Calculator tool\n\n")
              .Append(ComparisonReport.Table(["problems", "no tool", "calculator"],
                  [["longer than training (4–5 digits)", P(tools.LongNoTool), P(tools.LongTool)], ["training length (1–3 digits, held out)", P(tools.ShortNoTool), P(tools.ShortTool)]]))
              .Append($"\n{tools.CallsPerToolProblem:0.###} calculator calls per problem with the tool offered.\n");
        if (r.Rag is { } rag)
            md.Append("\n## Retrieval augmentation\n\n")
              .Append(ComparisonReport.Table(["closed-book", "retrieval-augmented", "right fact card retrieved", "right fact card cited"],
                  [[P(rag.ClosedBook), P(rag.Augmented), P(rag.RetrievalRecall), P(rag.CitationAccuracy)]]));
        var runs = new (string Part, TrainingRun? Run, double? Seconds)[] { ("icl", r.Icl?.Training, r.Icl?.Seconds), ("cot", r.Cot?.Training, r.Cot?.Seconds), ("tools", r.Tools?.Training, r.Tools?.Seconds), ("rag", r.Rag?.Training, r.Rag?.Seconds) };
        md.Append("\n## Models (character-level, 2 layers × 128 dims, two-token shift, trained from scratch; rotary positions, learned for CoT)\n\n").Append(ComparisonReport.Table(["part", "objective", "params", "context", "steps", "training s", "final loss", "part s"],
            runs.Where(x => x.Run is not null).Select(x => (IReadOnlyList<string>)[x.Part, x.Run!.Objective, x.Run.Params.ToString("N0"), x.Run.ContextLength.ToString(), x.Run.Iters.ToString(),
                ComparisonReport.F(x.Run.TrainSeconds, "F0"), ComparisonReport.F(x.Run.FinalLoss, "F3"), ComparisonReport.F(x.Seconds, "F0")])))
          .Append("\nThe final loss is the validation loss for windows of text and the training loss for packed examples.\n");
        md.Append($"\nSeed {r.Seed}, step scale {r.StepScale}; wall {r.WallSeconds:F0} s.\n");
        ComparisonReport.Write(dir, "Utilization: ICL, chain-of-thought, self-consistency, tools, retrieval", new { Experiment = "utilization", Report = r, r.Claims }, md.ToString());

        if (r.Icl is { } i) LinePlot(Path.Combine(dir, UtilizationExperiment.IclPlot), "In-context learning of new mappings", "demonstrations k",
            [("accuracy", i.Curve.Select(p => ((double)p.K, p.Accuracy)).ToArray())]);
        if (r.Cot is { } c) LinePlot(Path.Combine(dir, UtilizationExperiment.SelfConsistencyPlot), "Self-consistency (majority of n sampled rationales)", "samples n",
            [("maj@n", c.SelfConsistency.Select(v => ((double)v.N, v.Accuracy)).ToArray()), ("greedy CoT", c.SelfConsistency.Select(v => ((double)v.N, c.GreedyOnSubset)).ToArray()),
             ("direct", c.SelfConsistency.Select(v => ((double)v.N, c.Direct)).ToArray())]);
        if (r.Claims.Count > 0) ClaimsPlot(Path.Combine(dir, UtilizationExperiment.ClaimsPlot), r.Claims);
    }

    static void LinePlot(string path, string title, string xLabel, (string Name, (double X, double Y)[] Points)[] series)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int s = 0; s < series.Length; s++)
        {
            var line = plot.Add.ScatterLine(series[s].Points.Select(p => p.X).ToArray(), series[s].Points.Select(p => 100 * p.Y).ToArray());
            line.LegendText = series[s].Name;
            line.LineWidth = 2;
            line.MarkerSize = 6;
            line.Color = palette.GetColor(s);
            if (s > 0) line.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        plot.Axes.SetLimitsY(0, 100);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel("accuracy (%)");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(800, 500, ScottPlot.ImageFormat.Png));
    }

    static void ClaimsPlot(string path, IReadOnlyList<Claim> claims)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var bars = new List<ScottPlot.Bar>();
        for (int i = 0; i < claims.Count; i++)
        {
            bars.Add(new ScottPlot.Bar { Position = 3 * i, Value = 100 * claims[i].BaselineAccuracy, FillColor = palette.GetColor(0) });
            bars.Add(new ScottPlot.Bar { Position = 3 * i + 1, Value = 100 * claims[i].TreatmentAccuracy, FillColor = palette.GetColor(1) });
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks(claims.Select((_, i) => 3.0 * i + 0.5).ToArray(), claims.Select(c => $"{c.Name}\n{c.Baseline} → {c.Treatment}").ToArray());
        plot.Axes.SetLimitsY(0, 105);
        plot.YLabel("accuracy (%)");
        plot.Title("Utilization: baseline (blue) vs treatment (orange)");
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(1200, 550, ScottPlot.ImageFormat.Png));
    }
}
