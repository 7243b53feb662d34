using System.Diagnostics;
using System.Text.Json;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.IO;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;
using SharpLM.Checkpoints;

namespace SharpLM.Adaptation.Alignment;

/// <summary>How to train a reward model (TRL RewardConfig's knobs that matter at this scale).</summary>
public sealed record RewardModelOptions
{
    /// <summary>The checkpoint the backbone starts from (usually the SFT model); its tokenizer needs the chat tokens.</summary>
    public required string Base { get; init; }
    /// <summary>"full" or "lora" (LoRA on the backbone; the head always trains).</summary>
    public string Method { get; init; } = PolicyMethods.Full;
    /// <summary>LoRA's settings when <see cref="Method"/> is "lora".</summary>
    public LoraOptions Lora { get; init; } = new() { Rank = 8, Alpha = 16, TargetModules = ["attn.c_attn", "attn.c_proj", "mlp.c_proj"] };
    /// <summary>Optimizer steps.</summary>
    public int MaxIters { get; init; } = 200;
    /// <summary>Preference pairs per step (each is two sequences).</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Peak learning rate (warm-up, then cosine to a tenth).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Bradley–Terry margin: the chosen reward should exceed the rejected by at least this (0 = plain).</summary>
    public double Margin { get; init; }
    /// <summary>Steps between held-out evaluations (and one at the end).</summary>
    public int EvalInterval { get; init; } = 50;
    /// <summary>Seeds the head, LoRA and the data order.</summary>
    public int Seed { get; init; } = 1337;
    /// <summary>Intra-op threads; 0 = all cores.</summary>
    public int Threads { get; init; }
    /// <summary>"cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Checks the settings.</summary>
    /// <exception cref="InvalidInputException">A setting is out of range; names it.</exception>
    public RewardModelOptions Validate()
    {
        static void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new InvalidInputException($"reward model options: {field} {problem}");
        }
        Require(PolicyMethods.All.Contains(Method), "method", $"must be one of {string.Join(", ", PolicyMethods.All)}");
        Require(MaxIters > 0, "max_iters", "must be positive");
        Require(BatchSize > 0, "batch_size", "must be positive");
        Require(LearningRate > 0, "learning_rate", "must be positive");
        Require(Margin >= 0, "margin", "must not be negative");
        Require(EvalInterval > 0, "eval_interval", "must be positive");
        Require(Threads >= 0, "threads", "must not be negative");
        return this;
    }
}

/// <summary>Held-out pairwise accuracy of a reward model, with Wilson's 95% interval and the mean reward margin.</summary>
/// <param name="Step">Steps trained when measured.</param>
/// <param name="Pairs">Held-out pairs scored.</param>
/// <param name="Accuracy">Share of pairs whose chosen reply got the higher reward (ties count half).</param>
/// <param name="Low">Lower end of the 95% Wilson interval.</param>
/// <param name="High">Upper end of the 95% Wilson interval.</param>
/// <param name="MeanMargin">Mean of r(chosen) − r(rejected).</param>
public sealed record RewardEval(int Step, int Pairs, double Accuracy, double Low, double High, double MeanMargin)
{
    /// <summary>Scores <paramref name="pairs"/> with <paramref name="model"/>.</summary>
    public static RewardEval Measure(RewardModel model, IReadOnlyList<PreferencePair> pairs, int step)
    {
        var chosen = model.Score(pairs.Select(p => (p.Prompt, p.Chosen)).ToList());
        var rejected = model.Score(pairs.Select(p => (p.Prompt, p.Rejected)).ToList());
        double wins = chosen.Zip(rejected, (c, r) => c > r ? 1.0 : c == r ? 0.5 : 0.0).Sum();
        var (low, high) = Wilson(wins, pairs.Count);
        return new RewardEval(step, pairs.Count, Math.Round(wins / pairs.Count, 4), Math.Round(low, 4), Math.Round(high, 4),
            Math.Round(chosen.Zip(rejected, (c, r) => (double)c - r).Average(), 4));
    }

    /// <summary>Wilson's score interval at 95% for <paramref name="successes"/> of <paramref name="n"/>.</summary>
    public static (double Low, double High) Wilson(double successes, int n)
    {
        const double z = 1.959963984540054;
        double p = successes / n, z2 = z * z / n;
        double centre = (p + z2 / 2) / (1 + z2), half = z * Math.Sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / (1 + z2);
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}

/// <summary>rm_summary.json: what a reward-model run did.</summary>
public sealed record RewardModelSummary
{
    /// <summary>"full" or "lora".</summary>
    public required string Method { get; init; }
    /// <summary>Pairs trained on (after leaving out those the tokenizer cannot encode).</summary>
    public required int TrainPairs { get; init; }
    /// <summary>Pairs left out because the tokenizer cannot encode them.</summary>
    public required int SkippedPairs { get; init; }
    /// <summary>Trained parameters (backbone or LoRA, and the head).</summary>
    public required long TrainableParameters { get; init; }
    /// <summary>Steps taken.</summary>
    public required int Iters { get; init; }
    /// <summary>Wall seconds of training (evaluations included).</summary>
    public required double TrainSeconds { get; init; }
    /// <summary>Largest working set seen, MiB.</summary>
    public required double PeakRssMb { get; init; }
    /// <summary>Every held-out evaluation; the last is the final model's.</summary>
    public required IReadOnlyList<RewardEval> Evaluations { get; init; }
}

/// <summary>
/// Trains a <see cref="RewardModel"/> on preference pairs with the Bradley–Terry loss (TRL RewardTrainer): each step
/// scores a batch's chosen and rejected replies in one forward pass and minimises −log σ(r_c − r_r − margin). Writes
/// OUT as a loadable reward model, with metrics.jsonl, rm_summary.json and loss.png / accuracy.png.
/// </summary>
public static class RewardModelTrainer
{
    /// <summary>The summary's file name.</summary>
    public const string SummaryFile = "rm_summary.json";

    /// <summary>Trains on <paramref name="train"/>, evaluates on <paramref name="heldOut"/>, and writes <paramref name="outDir"/>.</summary>
    /// <exception cref="InvalidInputException">Bad options, an occupied output directory, or no pair the tokenizer can encode.</exception>
    public static RewardModelSummary Run(RewardModelOptions options, IReadOnlyList<PreferencePair> train, IReadOnlyList<PreferencePair> heldOut, string outDir,
        Action<AlignmentStep>? onStep = null, Action<RewardEval>? onEval = null)
    {
        options.Validate();
        if (RewardModel.Exists(outDir) || Checkpoint.Exists(outDir)) throw InvalidInputException.ForFile(outDir, "already holds a model; choose another --out");
        TorchRuntime.SetThreads(options.Threads);
        var device = TorchRuntime.ParseDevice(options.Device);
        var (backbone, tokenizer, template) = AlignmentPolicy.LoadChatModel(options.Base, device);
        var pairs = PreferenceData.Encodable(train, template, tokenizer, out int skipped);
        var evalPairs = PreferenceData.Encodable(heldOut, template, tokenizer, out _);
        if (pairs.Count == 0) throw new InvalidInputException($"reward model: none of the {train.Count} training pairs can be encoded by the tokenizer of {options.Base}");
        if (evalPairs.Count == 0) throw new InvalidInputException($"reward model: none of the {heldOut.Count} held-out pairs can be encoded by the tokenizer of {options.Base}");
        string baseSha = BaseWeights.Sha256(backbone);
        torch.manual_seed(options.Seed);
        var lora = options.Method == PolicyMethods.Lora ? LoraTuning.Apply(backbone, options.Lora.Validate("--lora-*"), options.Base) : null;
        var model = new RewardModel(backbone, tokenizer, template, AlignmentPolicy.TokenizerSha256Of(options.Base));
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        using var parameters = ContiguousParameters.Create(model, [trainable]);
        using var optimizer = new FlatAdamW(parameters, [0.0], 0.9, 0.999, 1e-8);
        var schedule = new TrainingConfig
        {
            LearningRate = options.LearningRate, MinLr = options.LearningRate / 10, WarmupIters = Math.Min(10, options.MaxIters),
            LrDecayIters = options.MaxIters, MaxIters = options.MaxIters,
        };
        var sequences = pairs.Select(p => (Chosen: ReplySequences.Of(p.Prompt, p.Chosen, template, tokenizer), Rejected: ReplySequences.Of(p.Prompt, p.Rejected, template, tokenizer))).ToList();

        Directory.CreateDirectory(outDir);
        using var log = new MetricsLog(outDir, null);
        var evals = new List<RewardEval>();
        var wall = Stopwatch.StartNew();
        double peakRss = 0;
        for (int step = 0; step < options.MaxIters; step++)
        {
            if (step > 0 && step % options.EvalInterval == 0) Evaluate(step);
            var sw = Stopwatch.StartNew();
            var batch = StepOrder.Batch(sequences.Count, Math.Min(options.BatchSize, sequences.Count), step, options.Seed).Select(i => sequences[i]).ToList();
            double lr = LearningRateSchedule.At(step, schedule), loss, accuracy, margin;
            model.train();
            using (var scope = NewDisposeScope())
            {
                parameters.ZeroGrad();
                using var rb = ReplyBatch.Create([.. batch.Select(b => b.Chosen), .. batch.Select(b => b.Rejected)], backbone.ContextLength, device);
                Tensor rewards = model.Rewards(rb);
                Tensor chosen = rewards[..batch.Count], rejected = rewards[batch.Count..];
                Tensor l = AlignmentLosses.BradleyTerry(chosen, rejected, options.Margin > 0 ? full_like(chosen, options.Margin) : null);
                l.backward();
                loss = l.item<float>();
                accuracy = chosen.gt(rejected).to(ScalarType.Float32).mean().item<float>();
                margin = (chosen - rejected).mean().item<float>();
                parameters.ClipGradNorm(1.0);
                optimizer.LearningRate = lr;
                optimizer.Step();
            }
            peakRss = Math.Max(peakRss, Environment.WorkingSet / 1048576.0);
            var record = new AlignmentStep(step, options.MaxIters, sw.Elapsed.TotalMilliseconds, new Dictionary<string, double>
            {
                ["loss"] = loss, ["accuracy"] = accuracy, ["margin"] = margin, ["lr"] = lr,
            });
            log.Write(new Dictionary<string, double> { ["step"] = step, ["ms_per_iter"] = Math.Round(record.MsPerIter, 2), ["loss"] = loss, ["accuracy"] = accuracy, ["margin"] = margin, ["lr"] = lr });
            onStep?.Invoke(record);
        }
        Evaluate(options.MaxIters);
        double seconds = wall.Elapsed.TotalSeconds;

        using var merged = lora?.ExportMerged();
        model.Save(outDir, merged ?? backbone, Path.GetFullPath(options.Base), baseSha);
        var summary = new RewardModelSummary
        {
            Method = options.Method, TrainPairs = pairs.Count, SkippedPairs = skipped, TrainableParameters = trainable.Sum(p => p.numel()),
            Iters = options.MaxIters, TrainSeconds = Math.Round(seconds, 1), PeakRssMb = Math.Round(peakRss, 1), Evaluations = evals,
        };
        AtomicFile.WriteAllText(Path.Combine(outDir, SummaryFile), JsonSerializer.Serialize(summary, Json.Options));
        var rows = ReadRows(outDir);
        AlignmentPlots.Write(outDir, "loss.png", "Reward model: Bradley–Terry loss", "loss (nats)", rows, ["loss"]);
        AlignmentPlots.Write(outDir, "accuracy.png", "Reward model: pairwise accuracy", "accuracy", rows, ["accuracy", "heldout_accuracy"]);
        return summary;

        void Evaluate(int step)
        {
            var e = RewardEval.Measure(model, evalPairs, step);
            evals.Add(e);
            log.Write(new Dictionary<string, double> { ["step"] = step, ["heldout_accuracy"] = e.Accuracy, ["heldout_margin"] = e.MeanMargin });
            onEval?.Invoke(e);
        }
    }

    static List<Dictionary<string, double>> ReadRows(string dir) =>
        File.ReadLines(Path.Combine(dir, MetricsLog.FileName)).Where(l => l.Length > 0)
            .Select(l => JsonDocument.Parse(l).RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number).ToDictionary(p => p.Name, p => p.Value.GetDouble()))
            .ToList();
}
