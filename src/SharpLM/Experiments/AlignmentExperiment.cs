using System.Diagnostics;
using System.Globalization;
using SharpLM.Adaptation.Alignment;
using SharpLM.Adaptation.Formatting;
using SharpLM.IO;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Training;
using TorchSharp;

namespace SharpLM.Experiments;

/// <summary>One row of the alignment comparison.</summary>
public sealed record AlignmentResult
{
    /// <summary>"sft", "best-of-N", "dpo", "ppo" or "grpo".</summary>
    public required string Method { get; init; }
    /// <summary>What the method was given: steps, batch, reward.</summary>
    public required string Budget { get; init; }
    /// <summary>Held-out scores of its greedy replies (best-of-n: of its picks).</summary>
    public required AlignmentScores Scores { get; init; }
    /// <summary>Replies sampled from a policy: during training, or at inference for best-of-n.</summary>
    public required long SampledReplies { get; init; }
    /// <summary>Wall seconds of training (best-of-n: of sampling and scoring the held-out prompts).</summary>
    public required double Seconds { get; init; }
    /// <summary>Largest working set of the process so far, MiB (the methods run one after another in one process).</summary>
    public required double PeakRssMb { get; init; }
}

/// <summary>
/// `sharplm experiment alignment`: from one SFT model, the survey's alignment methods side by side on the synthetic
/// suite's held-out prompts. A reward model is trained on the house-style preference pairs; then SFT itself, best-of-n
/// with that reward model, DPO (on the pairs), PPO (against the reward model) and GRPO (exact-match reward) are scored on
/// held-out exact match, house-style rate (the rule the preferences encode), reward-model win rate against the SFT
/// model's replies and KL to the SFT model. Writes report.json, report.md, rules.png and every run's directory.
/// </summary>
public sealed class AlignmentExperiment
{
    /// <summary>The instruction-tuned checkpoint every method starts from (and the reference).</summary>
    public required string Sft { get; init; }
    /// <summary>The output directory.</summary>
    public required string OutDir { get; init; }
    /// <summary>Seeds every run.</summary>
    public int Seed { get; init; } = 1337;
    /// <summary>The suite that makes the preference pairs and prompts.</summary>
    public SyntheticSuiteOptions Suite { get; init; } = new();
    /// <summary>The step budgets `experiment alignment` uses unless told otherwise (one place for the CLI and the library).</summary>
    public const int DefaultRewardModelSteps = 60, DefaultDpoSteps = 20, DefaultPpoSteps = 20, DefaultGrpoSteps = 40;
    /// <summary>Reward-model steps (16 pairs each).</summary>
    public int RewardModelSteps { get; init; } = DefaultRewardModelSteps;
    /// <summary>DPO steps (16 pairs each).</summary>
    public int DpoSteps { get; init; } = DefaultDpoSteps;
    /// <summary>PPO steps (16 prompts × 2 replies each).</summary>
    public int PpoSteps { get; init; } = DefaultPpoSteps;
    /// <summary>GRPO steps (8 prompts × 8 replies each).</summary>
    public int GrpoSteps { get; init; } = DefaultGrpoSteps;
    /// <summary>Best-of-n sizes compared.</summary>
    public IReadOnlyList<int> BestOfN { get; init; } = [4, 16];
    /// <summary>Sampled replies per held-out prompt for the KL estimate.</summary>
    public int KlSamples { get; init; } = 4;
    /// <summary>Held-out prompts scored (0 = all).</summary>
    public int EvalLimit { get; init; }
    /// <summary>Intra-op threads (0 = all cores).</summary>
    public int Threads { get; init; }
    /// <summary>Progress lines; null for silence.</summary>
    public Action<string>? Log { get; init; }
    /// <summary>Every training step of every run.</summary>
    public Action<string, AlignmentStep>? OnStep { get; init; }

    const int MaxNewTokens = 24;

    /// <summary>Runs everything (replacing earlier runs in the output directory) and writes the report; returns the rows.</summary>
    public IReadOnlyList<AlignmentResult> Run()
    {
        var wall = Stopwatch.StartNew();
        var c = CultureInfo.InvariantCulture;
        TorchRuntime.SetThreads(Threads);
        var device = torch.CPU;
        foreach (string sub in new[] { "preferences", "rm", "dpo", "ppo", "grpo" })
            if (Directory.Exists(Path.Combine(OutDir, sub))) Directory.Delete(Path.Combine(OutDir, sub), recursive: true);
        Directory.CreateDirectory(OutDir);

        var (trainPairs, testPairs) = SyntheticPreferences.Build(new SyntheticPreferenceOptions { Suite = Suite, Kind = "style" });
        Directory.CreateDirectory(Path.Combine(OutDir, "preferences"));
        PreferenceData.Write(Path.Combine(OutDir, "preferences", "train.jsonl"), trainPairs);
        PreferenceData.Write(Path.Combine(OutDir, "preferences", "test.jsonl"), testPairs);
        Log?.Invoke(string.Create(c, $"preferences: {trainPairs.Count} train, {testPairs.Count} test pairs (house style preferred)"));

        string rmDir = Path.Combine(OutDir, "rm");
        var rm = RewardModelTrainer.Run(new RewardModelOptions { Base = Sft, MaxIters = RewardModelSteps, Seed = Seed, Threads = Threads }, trainPairs, testPairs, rmDir,
            onStep: s => OnStep?.Invoke("rm", s));
        var rmEval = rm.Evaluations[^1];
        Log?.Invoke(string.Create(c, $"reward model: held-out accuracy {rmEval.Accuracy:P1} [{rmEval.Low:P1}, {rmEval.High:P1}] on {rmEval.Pairs} pairs ({rm.TrainSeconds:F0} s)"));
        using var rewardModel = RewardModel.Load(rmDir, device);

        var (_, allHeldOut) = AlignmentPrompts.Synthetic(Suite);
        var heldOut = EvalLimit > 0 ? allHeldOut.Take(EvalLimit).ToList() : allHeldOut;
        var (sft, tokenizer, template) = AlignmentPolicy.LoadChatModel(Sft, device);
        var results = new List<AlignmentResult>();
        var sftReplies = AlignmentEvaluation.GreedyReplies(sft, tokenizer, template, heldOut, MaxNewTokens, device);
        results.Add(Row("sft", "instruction-tuned start", AlignmentEvaluation.Score(heldOut, sftReplies, rewardModel, sftReplies, 0), 0, 0));
        Log?.Invoke(Line(results[^1]));
        torch.manual_seed(Seed);
        foreach (int n in BestOfN)
        {
            var sw = Stopwatch.StartNew();
            var picks = AlignmentEvaluation.BestOfN(sft, tokenizer, template, rewardModel, heldOut, n, MaxNewTokens, 1.0, device);
            results.Add(Row($"best-of-{n}", $"{n} samples per prompt, reward model picks", AlignmentEvaluation.Score(heldOut, picks, rewardModel, sftReplies, AlignmentEvaluation.BestOfNKl(n)),
                (long)n * heldOut.Count, sw.Elapsed.TotalSeconds));
            Log?.Invoke(Line(results[^1]));
        }

        var lora = new AlignmentOptions { Policy = Sft }.Lora;
        // DPO's loss is sharper per step than the policy-gradient ones (every pair is a labelled comparison), so it gets
        // half their learning rate; both were picked from a handful of runs of the README's chain, not from a sweep.
        const double dpoLr = 1e-3, rlLr = 2e-3;
        var dpo = DpoTrainer.Run(new DpoOptions { Policy = Sft, MaxIters = DpoSteps, LearningRate = dpoLr, Seed = Seed, Threads = Threads, CheckpointInterval = 0 },
            trainPairs, Path.Combine(OutDir, "dpo"), onStep: s => OnStep?.Invoke("dpo", s));
        results.Add(Trained("dpo", string.Create(c, $"{DpoSteps} steps × 16 pairs, sigmoid β 0.1, lr {dpoLr:G}, LoRA r {lora.Rank}"), dpo, Path.Combine(OutDir, "dpo")));
        var ppo = PpoTrainer.Run(new PpoOptions { Policy = Sft, Reward = "rm:" + rmDir, Suite = Suite, MaxIters = PpoSteps, LearningRate = rlLr, Seed = Seed, Threads = Threads, CheckpointInterval = 0 },
            Path.Combine(OutDir, "ppo"), onStep: s => OnStep?.Invoke("ppo", s));
        results.Add(Trained("ppo", string.Create(c, $"{PpoSteps} steps × 16 prompts × 2 replies, reward model, lr {rlLr:G}, LoRA r {lora.Rank}"), ppo, Path.Combine(OutDir, "ppo")));
        var grpo = GrpoTrainer.Run(new GrpoOptions { Policy = Sft, Reward = "exact-match", Suite = Suite, MaxIters = GrpoSteps, LearningRate = rlLr, Seed = Seed, Threads = Threads, CheckpointInterval = 0 },
            Path.Combine(OutDir, "grpo"), onStep: s => OnStep?.Invoke("grpo", s));
        results.Add(Trained("grpo", string.Create(c, $"{GrpoSteps} steps × 8 prompts × 8 replies, exact-match reward, lr {rlLr:G}, LoRA r {lora.Rank}"), grpo, Path.Combine(OutDir, "grpo")));

        var rows = results.Select(r => (IReadOnlyList<string>)new[]
        {
            r.Method, r.Budget, r.Scores.ExactMatch.ToString("P1", c), r.Scores.RulePreferenceRate.ToString("P1", c),
            ComparisonReport.F(r.Scores.RewardWinRate * 100, "F1") + (r.Scores.RewardWinRate is null ? "" : " %"),
            ComparisonReport.F(r.Scores.KlToReference, "F3"), r.SampledReplies.ToString("N0", c), r.Seconds.ToString("F0", c), r.PeakRssMb.ToString("F0", c),
        });
        string table = ComparisonReport.Table(["method", "budget", "held-out EM", "house-style rate", "RM win rate vs SFT", "KL to SFT (nats/reply)", "policy samples", "seconds", "peak RSS MB"], rows)
            + string.Create(c, $"\nHeld-out: {heldOut.Count} synthetic-suite prompts whose instances were never trained on. Reward model: held-out pairwise accuracy {rmEval.Accuracy:P1} (95% CI {rmEval.Low:P1}–{rmEval.High:P1}, {rmEval.Pairs} pairs), {RewardModelSteps} steps, {rm.TrainSeconds:F0} s. Greedy replies, at most {MaxNewTokens} tokens. KL: Σ(log π − log π_ref) over {KlSamples} sampled replies per prompt; best-of-n: log n − (n−1)/n. Wall {wall.Elapsed.TotalSeconds:F0} s.\n");
        var report = new
        {
            Experiment = "alignment", Sft = Path.GetFullPath(Sft), Seed, HeldOutPrompts = heldOut.Count, RewardModel = rm, WallSeconds = Math.Round(wall.Elapsed.TotalSeconds, 1), Methods = results,
        };
        ComparisonReport.Write(OutDir, "Alignment: SFT vs best-of-n vs DPO vs PPO vs GRPO on the synthetic suite", report, table);
        Plot(Path.Combine(OutDir, "rules.png"), results);
        return results;

        AlignmentResult Row(string method, string budget, AlignmentScores scores, long samples, double seconds) => new()
        {
            Method = method, Budget = budget, Scores = scores, SampledReplies = samples, Seconds = Math.Round(seconds, 1), PeakRssMb = Math.Round(Environment.WorkingSet / 1048576.0, 0),
        };

        AlignmentResult Trained(string method, string budget, AlignmentSummary summary, string dir)
        {
            var (policy, _, _) = AlignmentPolicy.LoadChatModel(dir, device);
            var replies = AlignmentEvaluation.GreedyReplies(policy, tokenizer, template, heldOut, MaxNewTokens, device);
            double kl = AlignmentEvaluation.SequenceKl(policy, sft, tokenizer, template, heldOut, KlSamples, MaxNewTokens, device);
            var scores = AlignmentEvaluation.Score(heldOut, replies, rewardModel, sftReplies, kl);
            policy.Dispose();
            var result = new AlignmentResult
            {
                Method = method, Budget = budget, Scores = scores, SampledReplies = summary.SampledReplies, Seconds = summary.TrainSeconds, PeakRssMb = summary.PeakRssMb,
            };
            Log?.Invoke(Line(result));
            return result;
        }
    }

    static string Line(AlignmentResult r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Method}: held-out EM {r.Scores.ExactMatch:P1}, house style {r.Scores.RulePreferenceRate:P1}, RM win rate vs SFT {r.Scores.RewardWinRate:P1}, KL {r.Scores.KlToReference:F3} ({r.Seconds:F0} s)");

    static void Plot(string path, IReadOnlyList<AlignmentResult> results)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var bars = new List<ScottPlot.Bar>();
        for (int i = 0; i < results.Count; i++)
        {
            bars.Add(new ScottPlot.Bar { Position = i * 3, Value = results[i].Scores.ExactMatch * 100, FillColor = palette.GetColor(0) });
            bars.Add(new ScottPlot.Bar { Position = i * 3 + 1, Value = results[i].Scores.RulePreferenceRate * 100, FillColor = palette.GetColor(1) });
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks(results.Select((_, i) => i * 3 + 0.5).ToArray(), results.Select(r => r.Method).ToArray());
        plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "held-out exact match %", FillColor = palette.GetColor(0) });
        plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "house-style rate %", FillColor = palette.GetColor(1) });
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plot.Axes.SetLimitsY(0, 105);
        plot.Title("Alignment methods on held-out prompts");
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(1000, 560, ScottPlot.ImageFormat.Png));
    }
}
