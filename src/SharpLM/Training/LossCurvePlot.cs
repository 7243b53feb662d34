using SharpLM.IO;

namespace SharpLM.Training;

/// <summary>loss.png: per-step training loss (light), evaluated train and validation loss (markers) against step.</summary>
public static class LossCurvePlot
{
    /// <summary>The plot's file name in the run directory.</summary>
    public const string FileName = "loss.png";

    /// <summary>Draws the curves (900 × 540 pixels) and writes <c>dir/loss.png</c> atomically.</summary>
    public static void Write(string dir, IReadOnlyList<StepRecord> steps, IReadOnlyList<EvalRecord> evals)
    {
        var plot = new ScottPlot.Plot();
        if (steps.Count > 0)
        {
            var s = plot.Add.ScatterLine(steps.Select(r => (double)r.Step).ToArray(), steps.Select(r => r.TrainLoss).ToArray());
            s.LegendText = "train (per step)";
            s.LineWidth = 1;
            s.Color = ScottPlot.Colors.Gray.WithAlpha(0.5);
        }
        if (evals.Count > 0)
        {
            double[] x = evals.Select(r => (double)r.Step).ToArray();
            var train = plot.Add.Scatter(x, evals.Select(r => r.TrainLoss).ToArray());
            train.LegendText = "train (eval)";
            var val = plot.Add.Scatter(x, evals.Select(r => r.ValLoss).ToArray());
            val.LegendText = "validation";
        }
        plot.Title("Loss");
        plot.XLabel("step");
        plot.YLabel("cross-entropy (nats/token)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight); // losses fall: the upper right stays clear
        byte[] png = plot.GetImageBytes(900, 540, ScottPlot.ImageFormat.Png);
        AtomicFile.WriteAllBytes(Path.Combine(dir, FileName), png);
    }
}
