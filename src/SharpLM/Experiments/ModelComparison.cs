using SharpLM.Adaptation;
using SharpLM.Data;
using SharpLM.Evaluation;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Tokenization;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Experiments;

/// <summary>One model of a comparison: a name and the run configuration that trains it.</summary>
public sealed record ComparedModel(string Name, PretrainConfig Config);

/// <summary>What one compared model achieved.</summary>
public sealed record ComparisonResult
{
    /// <summary>The model's name in the comparison, also its run directory's name.</summary>
    public required string Name { get; init; }
    /// <summary>"ngram", "lstm", "gru" or "transformer" (with its architecture).</summary>
    public required string Kind { get; init; }
    /// <summary>Parameters of the model (for an n-gram model, the n-grams it stores).</summary>
    public required long Params { get; init; }
    /// <summary>Seconds in the training loop (steps and evaluations); for an n-gram model, the counting.</summary>
    public required double TrainSeconds { get; init; }
    /// <summary>Optimizer steps taken (1 for an n-gram model).</summary>
    public required int Iters { get; init; }
    /// <summary>Median milliseconds per step (<see cref="TrainingSummary.MedianMsPerIter"/>); 0 for an n-gram model.</summary>
    public double MsPerIter { get; init; }
    /// <summary>The trainer's last validation loss, in the model's own objective (nats per predicted token).</summary>
    public required double ValLoss { get; init; }
    /// <summary>Bits per character over the whole validation split (every model scores the same text).</summary>
    public double? ValBitsPerCharacter { get; init; }
    /// <summary>Per-character perplexity over the whole validation split: 2^bits-per-character.</summary>
    public double? ValPerplexity { get; init; }
    /// <summary>Cross-entropy of the second half of each validation window given its first half: comparable across architectures.</summary>
    public double? ContinuationLoss { get; init; }
    /// <summary>Validation loss at each evaluation: (seconds into training, step, loss).</summary>
    public required IReadOnlyList<CurvePoint> Curve { get; init; }
}

/// <summary>One point of a validation-loss curve.</summary>
/// <param name="Seconds">Seconds into the training loop when the loss was measured.</param>
/// <param name="Step">The step it was measured at.</param>
/// <param name="ValLoss">Validation loss, nats per token.</param>
public sealed record CurvePoint(double Seconds, int Step, double ValLoss);

/// <summary>
/// Trains several models on one prepared dataset, one after another with the same trainer, and measures each the
/// same way. Each run lives in OUT/runs/NAME (a normal run directory: checkpoint, metrics, loss.png).
/// </summary>
public sealed class ModelComparison(string dataDir, string outDir, Func<string, ITrainingObserver>? observerFor = null)
{
    /// <summary>Validation windows averaged for <see cref="ComparisonResult.ContinuationLoss"/>.</summary>
    public int ContinuationWindows { get; init; } = 256;

    /// <summary>
    /// Windows slide by block_size / this when scoring the validation split, so every token after the first window
    /// has at least half a window of context (an n-gram always has its n−1 tokens); 1 = non-overlapping windows.
    /// </summary>
    public int EvalOverlap { get; init; } = 2;

    /// <summary>Where the run of the model called <paramref name="name"/> lives: OUT/runs/NAME.</summary>
    public string RunDirectory(string name) => Path.Combine(outDir, "runs", name);

    /// <summary>
    /// Trains <paramref name="compared"/> in its run directory (which must not hold a run yet) and measures it. An
    /// n-gram model is counted and always gets bits per character; a neural model is trained with <see cref="Trainer"/>.
    /// </summary>
    /// <param name="compared">The model to train.</param>
    /// <param name="bitsPerCharacter">Also score the whole validation split (<see cref="ComparisonResult.ValBitsPerCharacter"/>);
    /// meaningful for character-level data.</param>
    /// <param name="continuation">Also measure <see cref="ComparisonResult.ContinuationLoss"/>.</param>
    public ComparisonResult Run(ComparedModel compared, bool bitsPerCharacter, bool continuation)
    {
        string runDir = RunDirectory(compared.Name);
        var observer = observerFor?.Invoke(compared.Name);
        var summary = Pretraining.Run(compared.Config, dataDir, runDir, observer);
        if (compared.Config.Model.Type == "ngram")
        {
            var s = summary;
            double bits = s.FinalValLoss / Math.Log(2);
            return new ComparisonResult
            {
                Name = compared.Name, Kind = "ngram", Params = s.Params, TrainSeconds = s.TrainSeconds, Iters = s.Iters,
                ValLoss = s.FinalValLoss, ValBitsPerCharacter = bits, ValPerplexity = Math.Pow(2, bits),
                Curve = new[] { new CurvePoint(s.TrainSeconds, 1, s.FinalValLoss) },
            };
        }
        var (_, evals) = MetricsLog.Read(runDir);
        var bundle = ModelBundle.Load(runDir, TorchRuntime.ParseDevice(compared.Config.Training.Device));
        using (var model = bundle.Model)
        {
            ITokenizer tokenizer = bundle.Tokenizer;
            double? bits = null, cont = null;
            if (bitsPerCharacter)
            {
                string val = NGramTrainer.DecodeShard(dataDir, PreparedData.ValShard, tokenizer);
                var p = Perplexity.Evaluate(model, tokenizer, val, TorchRuntime.ParseDevice(compared.Config.Training.Device),
                    batchSize: 32, stride: Math.Max(1, model.Config.BlockSize / EvalOverlap));
                bits = p.BitsPerToken; // character tokens: bits per predicted character
            }
            if (continuation) cont = ContinuationLoss(model, compared.Config.Training.Seed);
            var m = model.Config;
            return new ComparisonResult
            {
                Name = compared.Name, Kind = m.Type == "transformer" ? $"transformer ({m.Architecture})" : m.Type,
                Params = summary.Params, TrainSeconds = summary.TrainSeconds, Iters = summary.Iters, MsPerIter = summary.MedianMsPerIter,
                ValLoss = summary.FinalValLoss, ValBitsPerCharacter = bits, ValPerplexity = bits is double b ? Math.Pow(2, b) : null,
                ContinuationLoss = cont,
                Curve = evals.Select(e => new CurvePoint(e.Seconds, e.Step, e.ValLoss)).ToList(),
            };
        }
    }

    /// <summary>Mean continuation loss (second half given the first) over the same seeded validation windows for every model.</summary>
    double ContinuationLoss(LanguageModel model, int seed)
    {
        using var val = TokenShard.Open(Path.Combine(dataDir, PreparedData.ValShard));
        // The shard checks its ids against its own vocabulary; one larger than the model's would index past the embedding.
        if (val.VocabSize > model.Config.VocabSize)
            throw InvalidInputException.ForFile(val.Path, $"vocabulary size {val.VocabSize} exceeds the model's {model.Config.VocabSize}");
        int t = model.Config.BlockSize;
        var sampler = new BatchSampler(val, 16, t, (ulong)seed ^ 0xC0FFEEUL);
        model.eval();
        double total = 0;
        int batches = Math.Max(1, ContinuationWindows / 16);
        for (int i = 0; i < batches; i++)
        {
            using var scope = NewDisposeScope();
            using var mode = inference_mode();
            var (x, y) = sampler.Next(model.parameters().First().device);
            total += model.ContinuationLoss(x, y, t / 2).item<float>();
        }
        return total / batches;
    }
}
