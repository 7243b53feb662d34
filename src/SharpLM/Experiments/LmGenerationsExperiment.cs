using System.Diagnostics;
using SharpLM.Data;
using SharpLM.Modeling;
using SharpLM.Training;

namespace SharpLM.Experiments;

/// <summary>
/// The survey's generations of language models on one character-level split, each given the same wall-clock
/// budget: Kneser-Ney n-grams of orders 3 and 5 (statistical LMs), an LSTM and a GRU (neural LMs) and a Transformer
/// (pre-trained LMs, with LLaMA's components), the three neural models of comparable size (~0.75–0.82M parameters).
/// Counting an n-gram model takes seconds, not its share; what it leaves is split evenly among the neural models
/// still to run. Every model is scored on the whole validation split in bits per character.
/// </summary>
public sealed class LmGenerationsExperiment
{
    /// <summary>The input text (e.g. tinyshakespeare's input.txt), prepared once at character level into OUT/data.</summary>
    public required string Data { get; init; }
    /// <summary>The output directory: data, one run directory per model, the report and the plot.</summary>
    public required string OutDir { get; init; }
    /// <summary>Wall-clock seconds for the whole comparison; what is left at each neural model is split evenly among
    /// those still to run, less their overhead.</summary>
    public required double BudgetSeconds { get; init; }
    /// <summary>Seeds the default models' training; not used when <see cref="Models"/> is given.</summary>
    public int Seed { get; init; } = 1337;
    /// <summary>An observer for each model's run, by model name; null for none.</summary>
    public Func<string, ITrainingObserver>? ObserverFor { get; init; }
    /// <summary>Receives a progress line before and after each model; null for silence.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>The plot's file name in the output directory: validation loss against training seconds.</summary>
    public const string PlotFile = "val_loss.png";

    /// <summary>The compared models; <see cref="DefaultModels"/> unless given.</summary>
    public IReadOnlyList<ComparedModel>? Models { get; init; }
    /// <summary>
    /// Seconds each neural run is assumed to spend outside its training loop (start-up, final evaluation, scoring
    /// the val split) until one has run; then the largest overhead measured so far is used.
    /// </summary>
    public double OverheadSeconds { get; init; } = 14;

    /// <summary>
    /// Kneser-Ney n-grams of orders 3 and 5, an LSTM, a GRU and the llama-style Transformer, the neural ones with the
    /// preset's training settings, <paramref name="seed"/>, an evaluation every 100 steps and no step limit that a
    /// time budget would reach.
    /// </summary>
    public static IReadOnlyList<ComparedModel> DefaultModels(int seed)
    {
        var transformer = PretrainConfig.Preset("llama-style");
        var training = transformer.Training with
        {
            MaxIters = 1_000_000, LrDecayIters = 1_000_000, EvalInterval = 100, EvalIters = 10, CheckpointInterval = 1_000_000, Seed = seed,
        };
        PretrainConfig Neural(ModelConfig model) => transformer with { Model = model, Training = training };
        var rnn = new ModelConfig { BlockSize = 64, NLayer = 2, Bias = true, TieEmbeddings = true };
        return new[]
        {
            new ComparedModel("ngram-3", transformer with { Model = new ModelConfig { Type = "ngram", NgramOrder = 3 } }),
            new ComparedModel("ngram-5", transformer with { Model = new ModelConfig { Type = "ngram", NgramOrder = 5 } }),
            new ComparedModel("lstm", Neural(rnn with { Type = "lstm", NEmbd = 224 })),
            new ComparedModel("gru", Neural(rnn with { Type = "gru", NEmbd = 256 })),
            new ComparedModel("transformer", Neural(transformer.Model)),
        };
    }

    /// <summary>
    /// Prepares the data if needed, trains and scores each model in turn (replacing earlier runs of the same names),
    /// then writes report.json, report.md and the plot.
    /// </summary>
    /// <exception cref="InvalidInputException">The budget would leave a neural model less than 5 seconds.</exception>
    public IReadOnlyList<ComparisonResult> Run()
    {
        var wall = Stopwatch.StartNew();
        string dataDir = Path.Combine(OutDir, "data");
        DataPreparer.PrepareOnce(Data, "char", dataDir);
        var comparison = new ModelComparison(dataDir, OutDir, ObserverFor);
        var models = Models ?? DefaultModels(Seed);
        var results = new List<ComparisonResult>();
        double overhead = OverheadSeconds;
        for (int i = 0; i < models.Count; i++)
        {
            var m = models[i];
            if (Directory.Exists(comparison.RunDirectory(m.Name))) Directory.Delete(comparison.RunDirectory(m.Name), recursive: true);
            var config = m.Config;
            if (config.Model.Type != "ngram")
            {
                int neuralLeft = models.Skip(i).Count(x => x.Config.Model.Type != "ngram");
                double share = (BudgetSeconds - wall.Elapsed.TotalSeconds) / neuralLeft - overhead;
                if (share < 5) throw new InvalidInputException($"--budget-seconds {BudgetSeconds}: too small; {m.Name} would get {share:F0} s");
                config = config with { Training = config.Training with { MaxSeconds = Math.Round(share, 1) } };
                Log?.Invoke($"{m.Name}: training for {share:F0} s");
            }
            else Log?.Invoke($"{m.Name}: counting");
            var run = Stopwatch.StartNew();
            results.Add(comparison.Run(m with { Config = config }, bitsPerCharacter: true, continuation: false));
            if (config.Model.Type != "ngram") overhead = Math.Max(overhead, run.Elapsed.TotalSeconds - results[^1].TrainSeconds);
            Log?.Invoke($"{m.Name}: val {results[^1].ValBitsPerCharacter:F4} bits/char after {results[^1].TrainSeconds:F0} s");
        }
        ComparisonResult? Best(Func<ComparisonResult, bool> generation) => results.Where(generation).MinBy(r => r.ValBitsPerCharacter);
        var ngram = Best(r => r.Kind == "ngram");
        var rnn = Best(r => r.Kind is "lstm" or "gru");
        var transformer = Best(r => r.Kind.StartsWith("transformer", StringComparison.Ordinal));
        bool? ordering = ngram is null || rnn is null || transformer is null ? null
            : transformer.ValBitsPerCharacter < rnn.ValBitsPerCharacter && rnn.ValBitsPerCharacter < ngram.ValBitsPerCharacter;
        string Named(ComparisonResult? r) => r is null ? "—" : $"{r.Name} {r.ValBitsPerCharacter:F4}";

        var rows = results.Select(r => (IReadOnlyList<string>)new[]
        {
            r.Name, r.Kind, r.Params.ToString("N0"), ComparisonReport.F(r.TrainSeconds, "F1"), r.Iters.ToString(),
            ComparisonReport.F(r.ValBitsPerCharacter, "F4"), ComparisonReport.F(r.ValPerplexity, "F3"),
        });
        string table = ComparisonReport.Table(new[] { "model", "kind", "params", "train s", "iters", "val bits/char", "val ppl/char" }, rows)
            + $"\nBest of each generation (val bits/char): {Named(transformer)} · {Named(rnn)} · {Named(ngram)}. "
            + $"Survey ordering Transformer < RNN < n-gram: **{ordering switch { true => "holds", false => "does not hold", null => "not tested" }}**.\n"
            + $"Budget {BudgetSeconds:F0} s, wall {wall.Elapsed.TotalSeconds:F0} s. n-gram \"params\" are stored n-grams. Neural models score the split in windows of their block size sliding by half of it (every token after the first window sees at least half a window of context); n-grams line by line (each line a sentence, its newline scored as </s>).\n";
        var header = new
        {
            Experiment = "lm-generations", Data = Path.GetFullPath(Data), BudgetSeconds, WallSeconds = Math.Round(wall.Elapsed.TotalSeconds, 1),
            OrderingHolds = ordering, BestNgram = ngram?.Name, BestRnn = rnn?.Name, BestTransformer = transformer?.Name, Results = results,
        };
        const string title = "LM generations: validation loss at equal wall-clock budget";
        ComparisonReport.Write(OutDir, title, header, table);
        ComparisonReport.Plot(Path.Combine(OutDir, PlotFile), title, results, againstSeconds: true);
        return results;
    }
}
