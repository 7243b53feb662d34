using System.Globalization;
using SharpLM.IO;

namespace SharpLM.Experiments.Scaling;

/// <summary>
/// The scaling experiment's figures. Sizes and compute span decades, so their axes are log10 with ticks labelled in
/// the original units; losses stay linear (they span well under a decade).
/// </summary>
public static class ScalingPlots
{
    const int Width = 1000, Height = 620, CurvePoints = 60;

    /// <summary>Final loss against N, one colour per token budget, each with the Chinchilla fit at that D (solid) and
    /// Kaplan's L(N) on the largest budget (dashed); the prediction run as a star.</summary>
    public static void LossVsParameters(string path, ScalingResults r)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var budgets = r.Runs.Select(x => x.Tokens).Distinct().Order().ToList();
        double nMin = Math.Min(r.Runs.Min(x => x.NonEmbeddingParams), r.Prediction.Params) / 1.3;
        double nMax = Math.Max(r.Runs.Max(x => x.NonEmbeddingParams), r.Prediction.Params) * 1.3;
        double[] curveN = Geometric(nMin, nMax);
        for (int i = 0; i < budgets.Count; i++)
        {
            var color = palette.GetColor(i);
            var runs = r.Runs.Where(x => x.Tokens == budgets[i]).OrderBy(x => x.NonEmbeddingParams).ToList();
            var points = plot.Add.ScatterPoints(runs.Select(x => Math.Log10(x.NonEmbeddingParams)).ToArray(), runs.Select(x => x.FinalValLoss).ToArray());
            points.Color = color;
            points.MarkerSize = 9;
            points.LegendText = $"D = {Tokens(budgets[i])} tokens";
            var fit = plot.Add.ScatterLine(curveN.Select(Math.Log10).ToArray(), curveN.Select(n => r.Chinchilla.Loss(n, budgets[i])).ToArray());
            fit.Color = color;
            fit.LineWidth = 1.5f;
        }
        var kaplan = plot.Add.ScatterLine(curveN.Select(Math.Log10).ToArray(), curveN.Select(r.Kaplan.Loss).ToArray());
        kaplan.LinePattern = ScottPlot.LinePattern.Dashed;
        kaplan.Color = ScottPlot.Colors.Black;
        kaplan.LegendText = string.Create(CultureInfo.InvariantCulture, $"Kaplan (N_c/N)^{r.Kaplan.AlphaN:F3}, R² {r.Kaplan.RSquared:F3}");
        var p = r.Prediction;
        var predicted = plot.Add.ScatterLine(curveN.Select(Math.Log10).ToArray(), curveN.Select(n => r.Chinchilla.Loss(n, p.Tokens)).ToArray());
        predicted.LinePattern = ScottPlot.LinePattern.Dotted;
        predicted.Color = ScottPlot.Colors.Red;
        predicted.LegendText = $"Chinchilla fit at D = {Tokens(p.Tokens)} (prediction run)";
        if (p.MeasuredLoss is double measured) Star(plot, Math.Log10(p.Params), measured, "prediction run, measured");
        plot.Title(string.Create(CultureInfo.InvariantCulture,
            $"Final validation loss vs N (solid: Chinchilla fit, R² {r.Chinchilla.RSquared:F3})"));
        LogAxis(plot.Axes.Bottom);
        plot.XLabel("N, non-embedding parameters (log scale)");
        plot.YLabel("validation loss (nats/char)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(Width, Height, ScottPlot.ImageFormat.Png));
    }

    /// <summary>Loss against compute C = 6ND, one line per size through its budgets; the measured compute-efficient
    /// frontier; the Chinchilla fit's optimal loss L(N_opt(C), D_opt(C)) extended to the prediction's compute; the
    /// prediction measured (star) and predicted (cross).</summary>
    public static void Frontier(string path, ScalingResults r)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var widths = r.Runs.Select(x => x.Width).Distinct().Order().ToList();
        for (int i = 0; i < widths.Count; i++)
        {
            var runs = r.Runs.Where(x => x.Width == widths[i]).OrderBy(x => x.Flops).ToList();
            var line = plot.Add.ScatterLine(runs.Select(x => Math.Log10(x.Flops)).ToArray(), runs.Select(x => x.FinalValLoss).ToArray());
            line.Color = palette.GetColor(i);
            line.MarkerSize = 7;
            line.LegendText = $"width {widths[i]}, N = {runs[0].NonEmbeddingParams:N0}";
        }
        var frontier = r.Runs.Where(x => x.OnFrontier).OrderBy(x => x.Flops).ToList();
        var envelope = plot.Add.ScatterLine(frontier.Select(x => Math.Log10(x.Flops)).ToArray(), frontier.Select(x => x.FinalValLoss).ToArray());
        envelope.Color = ScottPlot.Colors.Black.WithAlpha(0.35);
        envelope.LineWidth = 6;
        envelope.MarkerSize = 0;
        envelope.LegendText = "measured frontier";
        double[] curveC = Geometric(r.Runs.Min(x => x.Flops) / 1.5, r.Prediction.Flops * 1.5);
        var (cs, losses) = OptimalCurve(r.Chinchilla, curveC);
        var optimal = plot.Add.ScatterLine(cs.Select(Math.Log10).ToArray(), losses);
        optimal.LinePattern = ScottPlot.LinePattern.Dashed;
        optimal.Color = ScottPlot.Colors.Red;
        optimal.LegendText = "Chinchilla fit: L at the compute-optimal (N, D)";
        var p = r.Prediction;
        var cross = plot.Add.Marker(Math.Log10(p.Flops), p.PredictedLoss);
        cross.Shape = ScottPlot.MarkerShape.Cross;
        cross.Size = 16;
        cross.Color = ScottPlot.Colors.Red;
        cross.LegendText = string.Create(CultureInfo.InvariantCulture, $"predicted {p.PredictedLoss:F3}");
        if (p.MeasuredLoss is double measured)
            Star(plot, Math.Log10(p.Flops), measured, string.Create(CultureInfo.InvariantCulture, $"measured {measured:F3} ({p.ComputeFactor:0.#}× compute)"));
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"Loss vs compute: sizes, frontier and the {p.ComputeFactor:0.#}× extrapolation"));
        LogAxis(plot.Axes.Bottom);
        plot.XLabel("C = 6ND, FLOPs (log scale)");
        plot.YLabel("validation loss (nats/char)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(Width, Height, ScottPlot.ImageFormat.Png));
    }

    /// <summary>IsoFLOP curves of the Chinchilla fit (loss against N at fixed C, D = C/6N) at each grid budget's compute
    /// for the largest size and at the prediction's, each curve's minimum marked, and the prediction run's measured loss.</summary>
    public static void IsoFlop(string path, ScalingResults r)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        long largest = r.Runs.Max(x => x.NonEmbeddingParams);
        var levels = r.Runs.Where(x => x.NonEmbeddingParams == largest).Select(x => x.Flops).Append(r.Prediction.Flops).Distinct().Order().ToList();
        double nMin = r.Runs.Min(x => x.NonEmbeddingParams) / 2.0, nMax = Math.Max(largest, r.Prediction.Params) * 4.0;
        double[] curveN = Geometric(nMin, nMax);
        for (int i = 0; i < levels.Count; i++)
        {
            double c = levels[i];
            var color = palette.GetColor(i);
            var line = plot.Add.ScatterLine(curveN.Select(Math.Log10).ToArray(), curveN.Select(n => r.Chinchilla.Loss(n, c / (6 * n))).ToArray());
            line.Color = color;
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"C = {c:0.00e+0}");
            var (nOpt, dOpt) = r.Chinchilla.Optimum(c);
            var best = plot.Add.Marker(Math.Log10(nOpt), r.Chinchilla.Loss(nOpt, dOpt));
            best.Color = color;
            best.Shape = ScottPlot.MarkerShape.FilledDiamond;
            best.Size = 10;
        }
        if (r.Prediction.MeasuredLoss is double measured) Star(plot, Math.Log10(r.Prediction.Params), measured, "prediction run, measured");
        plot.Title("IsoFLOP curves of the Chinchilla fit (diamonds: optimum)");
        LogAxis(plot.Axes.Bottom);
        plot.XLabel("N, non-embedding parameters (log scale)");
        plot.YLabel("fitted validation loss (nats/char)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(Width, Height, ScottPlot.ImageFormat.Png));
    }

    /// <summary>The fit's loss at its compute-optimal allocation for each C; empty when the fit has no optimum.</summary>
    static (double[] Flops, double[] Losses) OptimalCurve(ChinchillaFit fit, double[] flops)
    {
        if (!(fit.Alpha > 0) || !(fit.Beta > 0)) return (Array.Empty<double>(), Array.Empty<double>());
        return (flops, flops.Select(c => { var (n, d) = fit.Optimum(c); return fit.Loss(n, d); }).ToArray());
    }

    static void Star(ScottPlot.Plot plot, double x, double y, string label)
    {
        var star = plot.Add.Marker(x, y);
        star.Shape = ScottPlot.MarkerShape.FilledDiamond;
        star.Size = 16;
        star.Color = ScottPlot.Colors.Red;
        star.LegendText = label;
    }

    static double[] Geometric(double from, double to) =>
        Enumerable.Range(0, CurvePoints).Select(i => from * Math.Pow(to / from, i / (CurvePoints - 1.0))).ToArray();

    /// <summary>Ticks at whole powers of ten (labelled 1e5 …) with logarithmic minor ticks, for an axis plotted in log10.</summary>
    static void LogAxis(ScottPlot.IAxis axis)
    {
        axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = v => $"1e{v:0}",
        };
    }

    static string Tokens(long tokens) => tokens >= 1_000_000
        ? (tokens / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M"
        : (tokens / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "k";
}
