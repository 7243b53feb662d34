using System.Net;
using System.Text;

namespace SharpLM.Experiments.Speedrun;

/// <summary>
/// A report written once and rendered twice: Markdown (images as files beside it) and one self-contained HTML page
/// (images as base64 data URIs, styles inline, no script and no external asset), so report.html can be mailed or
/// opened offline and still show every plot.
/// </summary>
public sealed class ReportCard(string title)
{
    abstract record Block;
    sealed record Heading(string Text) : Block;
    sealed record Paragraph(string Text) : Block;
    sealed record TableBlock(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows) : Block;
    sealed record Image(string FileName, byte[] Png, string Alt) : Block;
    sealed record Code(string Text) : Block;

    readonly List<Block> blocks = [];

    /// <summary>The images added, by file name (the Markdown refers to them beside it).</summary>
    public IEnumerable<(string FileName, byte[] Png)> Images => blocks.OfType<Image>().Select(i => (i.FileName, i.Png));

    /// <summary>A section heading.</summary>
    public ReportCard Section(string text) { blocks.Add(new Heading(text)); return this; }
    /// <summary>A paragraph of plain text.</summary>
    public ReportCard Text(string text) { blocks.Add(new Paragraph(text)); return this; }
    /// <summary>A table.</summary>
    public ReportCard Table(IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows) { blocks.Add(new TableBlock(columns, rows.ToList())); return this; }
    /// <summary>A PNG, written as <paramref name="fileName"/> beside the Markdown and embedded in the HTML.</summary>
    public ReportCard Png(string fileName, byte[] png, string alt) { blocks.Add(new Image(fileName, png, alt)); return this; }
    /// <summary>Preformatted text (samples, commands).</summary>
    public ReportCard Preformatted(string text) { blocks.Add(new Code(text)); return this; }

    /// <summary>The report as Markdown.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder($"# {title}\n");
        foreach (var block in blocks)
        {
            sb.Append('\n');
            switch (block)
            {
                case Heading h: sb.Append("## ").Append(h.Text).Append('\n'); break;
                case Paragraph p: sb.Append(p.Text).Append('\n'); break;
                case TableBlock t: sb.Append(ComparisonReport.Table(t.Columns.Select(Cell).ToList(), t.Rows.Select(r => (IReadOnlyList<string>)r.Select(Cell).ToList()))); break;
                case Image i: sb.Append("![").Append(i.Alt).Append("](").Append(i.FileName).Append(")\n"); break;
                case Code code:
                    // A fence longer than any run of backticks inside, as CommonMark allows.
                    string fence = new('`', Math.Max(3, LongestRun(code.Text, '`') + 1));
                    sb.Append(fence).Append('\n').Append(code.Text.TrimEnd('\n')).Append('\n').Append(fence).Append('\n');
                    break;
            }
        }
        return sb.ToString();

        static string Cell(string s) => s.Replace("\\", "\\\\").Replace("|", "\\|").Replace("\r", "").Replace("\n", "<br>");
    }

    /// <summary>The report as one HTML page with every image inline.</summary>
    public string ToHtml()
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(E(title)).Append("</title>\n<style>\n")
          .Append("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#1a1a1a;line-height:1.45}\n")
          .Append("h1{border-bottom:2px solid #444;padding-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ccc}\n")
          .Append("table{border-collapse:collapse;margin:.8em 0}th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f0f0f0}\n")
          .Append("td{font-variant-numeric:tabular-nums}img{max-width:100%;border:1px solid #ddd}pre{background:#f6f6f6;padding:.8em;overflow-x:auto;white-space:pre-wrap}\n")
          .Append("</style>\n</head>\n<body>\n<h1>").Append(E(title)).Append("</h1>\n");
        foreach (var block in blocks)
        {
            switch (block)
            {
                case Heading h: sb.Append("<h2>").Append(E(h.Text)).Append("</h2>\n"); break;
                case Paragraph p: sb.Append("<p>").Append(E(p.Text)).Append("</p>\n"); break;
                case TableBlock t:
                    sb.Append("<table>\n<tr>");
                    foreach (string col in t.Columns) sb.Append("<th>").Append(E(col)).Append("</th>");
                    sb.Append("</tr>\n");
                    foreach (var row in t.Rows)
                    {
                        sb.Append("<tr>");
                        foreach (string cell in row) sb.Append("<td>").Append(E(cell).Replace("\n", "<br>")).Append("</td>");
                        sb.Append("</tr>\n");
                    }
                    sb.Append("</table>\n");
                    break;
                case Image i:
                    sb.Append("<p><img alt=\"").Append(E(i.Alt)).Append("\" src=\"data:image/png;base64,").Append(Convert.ToBase64String(i.Png)).Append("\"></p>\n");
                    break;
                case Code code: sb.Append("<pre>").Append(E(code.Text)).Append("</pre>\n"); break;
            }
        }
        sb.Append("</body>\n</html>\n");
        return sb.ToString();

        static string E(string s) => WebUtility.HtmlEncode(s);
    }

    static int LongestRun(string s, char c)
    {
        int best = 0, run = 0;
        foreach (char ch in s) best = Math.Max(best, run = ch == c ? run + 1 : 0);
        return best;
    }
}
