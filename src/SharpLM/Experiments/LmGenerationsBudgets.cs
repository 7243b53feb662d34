using System.Globalization;
using SharpLM.Data;
using SharpLM.IO;
using SharpLM.Training;

namespace SharpLM.Experiments;

/// <summary>A corpus of a multi-corpus comparison: the label its directory and report rows use, and its file.</summary>
public sealed record NamedCorpus(string Name, string Path);

/// <summary>One neural model's validation bits per character after one per-model training budget.</summary>
/// <param name="BudgetSeconds">The budget: seconds in the training loop (max_seconds).</param>
/// <param name="TrainSeconds">Seconds it actually trained.</param>
/// <param name="Iters">Steps taken in them.</param>
/// <param name="BitsPerCharacter">Bits per character over the whole validation split.</param>
public sealed record BudgetPoint(double BudgetSeconds, double TrainSeconds, int Iters, double BitsPerCharacter);

/// <summary>A neural model across the budgets, and the budget from which on it beats the reference n-gram.</summary>
/// <param name="Name">The model's name.</param>
/// <param name="Kind">"lstm", "gru", "transformer (…)".</param>
/// <param name="Params">Its parameter count.</param>
/// <param name="Points">One per budget, ascending.</param>
/// <param name="OvertakesAtSeconds">The smallest budget at which it has fewer bits per character than the reference and
/// keeps fewer at every larger budget; null when it does not within the budgets tried.</param>
public sealed record ModelAcrossBudgets(string Name, string Kind, long Params, IReadOnlyList<BudgetPoint> Points, double? OvertakesAtSeconds);

/// <summary>One corpus: the n-grams (counted once: time does not change a count), the reference n-gram and every
/// neural model across the budgets.</summary>
public sealed record CorpusCrossovers(string Corpus, string Path, IReadOnlyList<ComparisonResult> Ngrams, string Reference, double ReferenceBitsPerCharacter,
    IReadOnlyList<ModelAcrossBudgets> Models);

/// <summary>
/// The generations comparison at several per-model wall-clock budgets on one or more corpora: when does each neural
/// generation (LSTM, GRU, Transformer) overtake the 5-gram? An n-gram model is counted once per corpus; each neural model
/// is trained from scratch for each budget (its cosine schedule follows that budget, so a short run is not a truncated
/// long one) and scored on the whole validation split in bits per character, like <see cref="LmGenerationsExperiment"/>.
/// The reference is the highest-order n-gram among the models (the 5-gram by default).
/// </summary>
public sealed class LmGenerationsBudgets
{
    /// <summary>The corpora, each prepared at character level into OUT/NAME/data.</summary>
    public required IReadOnlyList<NamedCorpus> Corpora { get; init; }
    /// <summary>The output directory: one folder per corpus (data, runs, plot), report.json and report.md.</summary>
    public required string OutDir { get; init; }
    /// <summary>Seconds of training per neural model and run; every budget is a separate run.</summary>
    public required IReadOnlyList<double> BudgetSeconds { get; init; }
    /// <summary>Seeds the default models' training; not used when <see cref="Models"/> is given.</summary>
    public int Seed { get; init; } = 1337;
    /// <summary>The compared models; <see cref="LmGenerationsExperiment.DefaultModels"/> unless given. At least one n-gram.</summary>
    public IReadOnlyList<ComparedModel>? Models { get; init; }
    /// <summary>An observer for each run, by run name; null for none.</summary>
    public Func<string, ITrainingObserver>? ObserverFor { get; init; }
    /// <summary>Receives a progress line before and after each run, with the sweep's ETA; null for silence.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Each corpus's plot (in its folder): bits per character against the budget.</summary>
    public const string PlotFile = "bits_vs_budget.png";

    /// <summary>Trains and scores every model at every budget on every corpus (replacing earlier runs of the same
    /// names), then writes report.json, report.md and one plot per corpus.</summary>
    /// <exception cref="InvalidInputException">No corpus, a repeated corpus name, budgets that are not positive and
    /// ascending, or no n-gram among the models.</exception>
    public IReadOnlyList<CorpusCrossovers> Run()
    {
        var models = Models ?? LmGenerationsExperiment.DefaultModels(Seed);
        if (Corpora.Count == 0) throw new InvalidInputException("--data: no corpus");
        if (Corpora.Select(c => c.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count() != Corpora.Count)
            throw new InvalidInputException($"--data: corpus names repeat ({string.Join(", ", Corpora.Select(c => c.Name))}); each gets its own folder");
        if (BudgetSeconds.Count == 0 || BudgetSeconds.Any(b => !(b > 0)) || BudgetSeconds.Zip(BudgetSeconds.Skip(1)).Any(p => p.First >= p.Second))
            throw new InvalidInputException($"--budgets {string.Join(",", BudgetSeconds)}: must be positive and ascending seconds");
        var ngrams = models.Where(m => m.Config.Model.Type == "ngram").ToList();
        if (ngrams.Count == 0) throw new InvalidInputException("lm-generations budgets: the models include no n-gram to overtake");
        var reference = ngrams.MaxBy(m => m.Config.Model.NgramOrder)!;
        var neural = models.Where(m => m.Config.Model.Type != "ngram").ToList();

        var wall = System.Diagnostics.Stopwatch.StartNew();
        double totalBudget = Corpora.Count * neural.Count * BudgetSeconds.Sum(), doneBudget = 0;
        var all = new List<CorpusCrossovers>();
        foreach (var corpus in Corpora)
        {
            string corpusDir = System.IO.Path.Combine(OutDir, corpus.Name);
            string dataDir = System.IO.Path.Combine(corpusDir, "data");
            DataPreparer.PrepareOnce(corpus.Path, "char", dataDir);
            var comparison = new ModelComparison(dataDir, corpusDir, ObserverFor);
            ComparisonResult Fresh(ComparedModel m)
            {
                if (Directory.Exists(comparison.RunDirectory(m.Name))) Directory.Delete(comparison.RunDirectory(m.Name), recursive: true);
                return comparison.Run(m, bitsPerCharacter: true, continuation: false);
            }
            var counted = ngrams.Select(m =>
            {
                Log?.Invoke($"{corpus.Name}: {m.Name}: counting");
                return Fresh(m);
            }).ToList();
            double referenceBits = counted[ngrams.IndexOf(reference)].ValBitsPerCharacter!.Value;
            var across = new List<ModelAcrossBudgets>();
            foreach (var m in neural)
            {
                var points = new List<BudgetPoint>();
                long parameters = 0;
                string kind = m.Config.Model.Type;
                foreach (double budget in BudgetSeconds)
                {
                    // Progress in budget-seconds: the share of training time left, scaled by how long the budget took so far.
                    double rate = doneBudget > 0 ? wall.Elapsed.TotalSeconds / doneBudget : 1;
                    Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                        $"{corpus.Name}: {m.Name} for {budget:0.#} s; sweep ETA {TimeSpan.FromSeconds((totalBudget - doneBudget) * rate):hh\\:mm\\:ss}"));
                    var config = m.Config with { Training = m.Config.Training with { MaxSeconds = budget } };
                    var r = Fresh(m with { Name = RunName(m.Name, budget), Config = config });
                    points.Add(new BudgetPoint(budget, r.TrainSeconds, r.Iters, r.ValBitsPerCharacter!.Value));
                    (parameters, kind) = (r.Params, r.Kind);
                    doneBudget += budget;
                    Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                        $"{corpus.Name}: {m.Name} after {r.TrainSeconds:F0} s ({r.Iters} steps): {r.ValBitsPerCharacter:F4} bits/char vs {reference.Name} {referenceBits:F4}"));
                }
                across.Add(new ModelAcrossBudgets(m.Name, kind, parameters, points, OvertakesAt(points, referenceBits)));
            }
            var result = new CorpusCrossovers(corpus.Name, System.IO.Path.GetFullPath(corpus.Path), counted, reference.Name, referenceBits, across);
            Plot(System.IO.Path.Combine(corpusDir, PlotFile), result);
            all.Add(result);
        }

        string table = string.Concat(all.Select(Table))
            + $"\nBudgets are seconds of training per model and run (each budget a fresh run whose schedule ends at it), plus start-up and scoring; bits per character over the whole validation split. Wall {wall.Elapsed.TotalSeconds:F0} s.\n";
        var header = new { Experiment = "lm-generations", BudgetSeconds, WallSeconds = Math.Round(wall.Elapsed.TotalSeconds, 1), Corpora = all };
        ComparisonReport.Write(OutDir, "LM generations: the budget at which each neural model overtakes the n-gram", header, table);
        return all;
    }

    /// <summary>The run directory name of <paramref name="model"/> at <paramref name="budget"/> seconds.</summary>
    public static string RunName(string model, double budget) => string.Create(CultureInfo.InvariantCulture, $"{model}-{budget:0.##}s");

    /// <summary>
    /// The smallest budget from which on the model's bits per character stay below <paramref name="reference"/> at every
    /// larger budget; null when the largest budget does not beat it. A model that beats the n-gram at one budget and
    /// loses at a larger one (noise, or a too-short schedule) has not overtaken it there.
    /// </summary>
    public static double? OvertakesAt(IReadOnlyList<BudgetPoint> points, double reference)
    {
        double? from = null;
        foreach (var p in points.OrderBy(p => p.BudgetSeconds))
            from = p.BitsPerCharacter < reference ? from ?? p.BudgetSeconds : null;
        return from;
    }

    static string Table(CorpusCrossovers c)
    {
        string Budget(double b) => b.ToString("0.##", CultureInfo.InvariantCulture) + " s";
        var budgets = c.Models.SelectMany(m => m.Points.Select(p => p.BudgetSeconds)).Distinct().Order().ToList();
        var columns = new[] { "model", "kind", "params" }.Concat(budgets.Select(b => $"bits/char at {Budget(b)}")).Append($"overtakes {c.Reference} at").ToList();
        var rows = c.Models.Select(m => (IReadOnlyList<string>)new[] { m.Name, m.Kind, m.Params.ToString("N0", CultureInfo.InvariantCulture) }
            .Concat(budgets.Select(b => ComparisonReport.F(m.Points.FirstOrDefault(p => p.BudgetSeconds == b)?.BitsPerCharacter, "F4")))
            .Append(m.OvertakesAtSeconds is double s ? Budget(s) : $"not within {Budget(budgets[^1])}").ToList());
        var ngramRows = c.Ngrams.Select(n => (IReadOnlyList<string>)new[] { n.Name, "ngram", n.Params.ToString("N0", CultureInfo.InvariantCulture) }
            .Concat(budgets.Select(_ => ComparisonReport.F(n.ValBitsPerCharacter, "F4"))).Append(n.Name == c.Reference ? "(reference)" : "—").ToList());
        return $"## {c.Corpus}\n\n" + ComparisonReport.Table(columns, rows.Concat(ngramRows)) + "\n";
    }

    static void Plot(string path, CorpusCrossovers c)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int colour = 0;
        foreach (var m in c.Models)
        {
            var line = plot.Add.ScatterLine(m.Points.Select(p => Math.Log10(p.BudgetSeconds)).ToArray(), m.Points.Select(p => p.BitsPerCharacter).ToArray());
            line.LegendText = m.Name;
            line.LineWidth = 2;
            line.MarkerSize = 8;
            line.Color = palette.GetColor(colour++);
        }
        foreach (var n in c.Ngrams)
        {
            var line = plot.Add.HorizontalLine(n.ValBitsPerCharacter!.Value);
            line.LinePattern = ScottPlot.LinePattern.Dashed;
            line.LegendText = n.Name;
            line.Color = palette.GetColor(colour++);
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            LabelFormatter = v => Math.Pow(10, v).ToString("0.#", CultureInfo.InvariantCulture),
        };
        plot.Title($"{c.Corpus}: validation bits/char against the per-model budget");
        plot.XLabel("training seconds per model (log scale)");
        plot.YLabel("validation bits per character");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(1000, 600, ScottPlot.ImageFormat.Png));
    }
}
