using System.Globalization;
using System.Text.Json;
using SharpLM.Adaptation.Formatting;
using SharpLM.Data;
using SharpLM.Data.Cleaning;
using SharpLM.Data.Dedup;
using SharpLM.Data.Ingestion;
using SharpLM.Data.Privacy;
using SharpLM.IO;
using SharpLM.Runtime;

namespace SharpLM.Experiments.Speedrun;

/// <summary>
/// Stage 1: the corpus (with the synthetic suite's skill statements spread between its paragraphs, as `sharplm data
/// skills --mix-with` writes it) through `sharplm data clean`'s pipeline, one document per paragraph: Gopher's
/// repetition filter → decontamination against the evaluation stage's benchmarks → exact and MinHash de-duplication →
/// PII redaction. Gopher's quality filter is left out: it wants at least 50 words a document and would drop nearly
/// every speech of a play and every paragraph of statements (88 % of tinyshakespeare's paragraphs). Writes
/// clean.jsonl, rejected.jsonl (with reasons), report.json (the funnel) and funnel.png.
/// </summary>
public sealed class CleanStage : SpeedrunStage
{
    /// <summary>The stage's folder.</summary>
    public const string Folder = "clean";
    /// <summary>The cleaned documents, one JSON object per line with "text".</summary>
    public const string OutputFile = "clean.jsonl";
    /// <summary>The pipeline's <see cref="CleaningReport"/>.</summary>
    public const string ReportFile = "report.json";
    /// <summary>Documents left after each pipeline stage.</summary>
    public const string PlotFile = "funnel.png";

    /// <inheritdoc/>
    public override string Name => Folder;
    /// <inheritdoc/>
    public override string Description => "mix skill statements into the corpus, then filter, decontaminate, de-duplicate and redact it";

    /// <inheritdoc/>
    public override object Settings(SpeedrunOptions options) => new { options.Corpus, options.Clean };

    /// <inheritdoc/>
    public override Task RunAsync(SpeedrunContext context, bool resume, CancellationToken cancellation)
    {
        var o = context.Options;
        string dir = context.StageDir(Name);
        string input = Corpora.Resolve(o.Corpus, context.Log);
        if (o.Clean.SkillStatements > 0)
        {
            var skills = SkillCorpus.Generate(new SkillCorpusOptions { Statements = o.Clean.SkillStatements });
            var paragraphs = SkillCorpus.Paragraphs(File.ReadAllText(input));
            if (paragraphs.Count == 0) throw InvalidInputException.ForFile(input, "holds no text to mix the skill statements into");
            string mixed = Path.Combine(dir, "corpus.txt");
            AtomicFile.WriteAllText(mixed, SkillCorpus.MixInto(paragraphs, skills));
            context.Log($"{o.Clean.SkillStatements:N0} skill statements spread between {paragraphs.Count:N0} paragraphs of {input} ({skills.Decontaminated:N0} draws of test instances left out) → {mixed}");
            input = mixed;
        }
        Decontaminator? decontaminator = null;
        foreach (string benchmark in o.Clean.Decontaminate)
        {
            decontaminator ??= new Decontaminator();
            decontaminator.AddEvaluationFile(benchmark);
        }
        var options = new CleaningPipelineOptions
        {
            Filters = [new GopherRepetitionFilter()], Decontaminator = decontaminator, ExactDedup = true, MinHash = new MinHashOptions(), Pii = new PiiOptions(), Threads = o.Threads,
        };
        var bad = new List<BadRecord>();
        CleaningReport report;
        using (var kept = new JsonlWriter(Path.Combine(dir, OutputFile)))
        using (var rejected = new JsonlWriter(Path.Combine(dir, "rejected.jsonl")))
        {
            var documents = new CorpusReader(new CorpusOptions { TxtParagraphs = true }).Read(input, bad.Add);
            report = new CleaningPipeline(options).Run(documents, kept, rejected, () => bad);
            kept.Commit();
            rejected.Commit();
        }
        AtomicFile.WriteAllText(Path.Combine(dir, ReportFile), JsonSerializer.Serialize(report, Json.Options));
        PlotFunnel(Path.Combine(dir, PlotFile), report);
        var first = report.Stages[report.StageOrder[0]];
        var last = report.Stages[report.StageOrder[^1]];
        context.Log(string.Create(CultureInfo.InvariantCulture,
            $"kept {last.DocumentsOut:N0} of {first.DocumentsIn:N0} documents ({last.BytesOut / 1e6:F2} of {first.BytesIn / 1e6:F2} MB) in {report.Seconds:F1} s"));
        return Task.CompletedTask;
    }

    /// <summary>The documents entering the pipeline and left after each of its stages, as bars.</summary>
    static void PlotFunnel(string path, CleaningReport report)
    {
        var labels = new List<string> { "input" };
        var counts = new List<double> { report.Stages[report.StageOrder[0]].DocumentsIn };
        foreach (string stage in report.StageOrder)
        {
            labels.Add(stage);
            counts.Add(report.Stages[stage].DocumentsOut);
        }
        var plot = new ScottPlot.Plot();
        var bars = plot.Add.Bars(counts.ToArray());
        foreach (var (bar, i) in bars.Bars.Select((b, i) => (b, i))) bar.Label = counts[i].ToString("N0", CultureInfo.InvariantCulture);
        bars.ValueLabelStyle.FontSize = 14;
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, labels.Count).Select(i => (double)i).ToArray(), labels.ToArray());
        plot.Axes.Margins(bottom: 0, top: 0.15);
        plot.Title("Cleaning funnel: documents left after each stage");
        plot.YLabel("documents");
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(900, 480, ScottPlot.ImageFormat.Png));
    }
}
