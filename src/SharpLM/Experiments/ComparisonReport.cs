using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpLM.IO;
using SharpLM.Runtime;

namespace SharpLM.Experiments;

/// <summary>
/// Writes a comparison three ways: report.json (every figure), report.md (a table) and a PNG of validation loss
/// against training time or steps (count-based models, which have no curve, as dashed horizontal lines).
/// </summary>
public static class ComparisonReport
{
    /// <summary>The report's file names in the output directory: report.json (every figure) and report.md (the table).</summary>
    public const string JsonFile = "report.json", MarkdownFile = "report.md";

    /// <summary>report.json (<paramref name="report"/>: settings and every result) and report.md (title and table).</summary>
    public static void Write(string dir, string title, object report, string markdownTable)
    {
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(Path.Combine(dir, JsonFile), JsonSerializer.Serialize(report, Json.Options));
        AtomicFile.WriteAllText(Path.Combine(dir, MarkdownFile), $"# {title}\n\n{markdownTable}");
    }

    /// <summary>A Markdown table: a header row and one row per result.</summary>
    public static string Table(IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows)
    {
        var sb = new StringBuilder();
        sb.Append("| ").Append(string.Join(" | ", columns)).Append(" |\n");
        sb.Append('|').Append(string.Concat(columns.Select(_ => "---|"))).Append('\n');
        foreach (var row in rows) sb.Append("| ").Append(string.Join(" | ", row)).Append(" |\n");
        return sb.ToString();
    }

    /// <summary><paramref name="value"/> formatted with <paramref name="format"/> in the invariant culture, or "—" when it
    /// is missing or not finite: a table cell.</summary>
    public static string F(double? value, string format) =>
        value is double v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "—";

    /// <summary>Validation loss against training seconds or steps, one line per result.</summary>
    public static void Plot(string path, string title, IReadOnlyList<ComparisonResult> results, bool againstSeconds)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category20(); // twenty distinct colours: a component grid has twelve lines
        double xMax = results.SelectMany(r => r.Curve).Select(p => againstSeconds ? p.Seconds : p.Step).DefaultIfEmpty(1).Max();
        foreach (var r in results)
        {
            if (r.Kind == "ngram")
            {
                var line = plot.Add.HorizontalLine(r.ValLoss);
                line.LinePattern = ScottPlot.LinePattern.Dashed;
                line.LegendText = r.Name;
                line.Color = palette.GetColor(results.ToList().IndexOf(r));
                continue;
            }
            var curve = plot.Add.ScatterLine(r.Curve.Select(p => againstSeconds ? p.Seconds : p.Step).ToArray(), r.Curve.Select(p => p.ValLoss).ToArray());
            curve.LegendText = r.Name;
            curve.LineWidth = 2;
            curve.MarkerSize = 3;
            curve.Color = palette.GetColor(results.ToList().IndexOf(r));
        }
        plot.Axes.SetLimitsX(0, xMax * 1.02);
        plot.Title(title);
        plot.XLabel(againstSeconds ? "training seconds" : "step");
        plot.YLabel("validation loss (nats/token)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(1000, 600, ScottPlot.ImageFormat.Png));
    }
}
