using System.Diagnostics;
using System.Text.Json;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.IO;
using SharpLM.Runtime;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Alignment;

/// <summary>The DPO family's settings (TRL DPOConfig's knobs that matter at this scale).</summary>
public sealed record DpoOptions : AlignmentOptions
{
    /// <summary>sigmoid (DPO), ipo, hinge or simpo (<see cref="DpoLossTypes"/>).</summary>
    public string LossType { get; init; } = DpoLossTypes.Sigmoid;
    /// <summary>β: how far the policy may move from the reference (IPO's τ; SimPO's reward scale).</summary>
    public double Beta { get; init; } = 0.1;
    /// <summary>cDPO's label smoothing for sigmoid and simpo; 0 = plain.</summary>
    public double LabelSmoothing { get; init; }
    /// <summary>SimPO's target margin γ.</summary>
    public double SimpoGamma { get; init; } = 0.5;
    /// <summary>Preference pairs per step.</summary>
    public int BatchSize { get; init; } = 16;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (!DpoLossTypes.All.Contains(LossType)) throw new InvalidInputException($"dpo options: loss_type '{LossType}' is not one of {string.Join(", ", DpoLossTypes.All)}");
        if (!(Beta > 0)) throw new InvalidInputException("dpo options: beta must be positive");
        if (LabelSmoothing is < 0 or >= 0.5) throw new InvalidInputException("dpo options: label_smoothing must be in [0, 0.5)");
        if (BatchSize <= 0) throw new InvalidInputException("dpo options: batch_size must be positive");
    }
}

/// <summary>What an alignment run did (DPO, PPO or GRPO): summary.json.</summary>
public sealed record AlignmentSummary
{
    /// <summary>"dpo", "ppo" or "grpo", with the loss type or reward where it matters.</summary>
    public required string Algorithm { get; init; }
    /// <summary>"lora" or "full".</summary>
    public required string Method { get; init; }
    /// <summary>Trained values (LoRA or all weights, and a value head).</summary>
    public required long TrainableParameters { get; init; }
    /// <summary>Steps in the run.</summary>
    public required int Iters { get; init; }
    /// <summary>Step the run was resumed from (0 when it was not).</summary>
    public int ResumedFrom { get; init; }
    /// <summary>Wall seconds of this process's part of the run.</summary>
    public required double TrainSeconds { get; init; }
    /// <summary>Replies sampled from the policy during training (0 for the offline DPO family).</summary>
    public long SampledReplies { get; init; }
    /// <summary>Largest working set seen, MiB.</summary>
    public required double PeakRssMb { get; init; }
    /// <summary>The last step's figures.</summary>
    public required IReadOnlyDictionary<string, double> Final { get; init; }
}

/// <summary>
/// Direct preference optimisation and its relatives (TRL DPOTrainer / CPOTrainer): offline, from preference pairs,
/// no reward model and no sampling. The reference's log-probs of every pair are computed once before training and
/// kept (TRL's precompute_ref_log_probs) — with LoRA they come from the same weights with the adapter off. Each step
/// scores a batch's chosen and rejected replies under the policy in one forward pass and minimises the chosen loss
/// (<see cref="AlignmentLosses.Dpo"/>). Logged per step: loss, chosen/rejected implicit rewards, reward accuracy and
/// margin, lr.
/// </summary>
public static class DpoTrainer
{
    /// <summary>The summary's file name in the run directory.</summary>
    public const string SummaryFile = "summary.json";

    /// <summary>Trains on <paramref name="pairs"/> and writes <paramref name="outDir"/>: the aligned policy as a checkpoint,
    /// metrics.jsonl, summary.json, loss.png and rewards.png. With <paramref name="resume"/>, continues a killed run from its
    /// last saved state, bit-identically.</summary>
    /// <exception cref="InvalidInputException">Bad options, an occupied output directory, or no pair the tokenizer can encode.</exception>
    public static AlignmentSummary Run(DpoOptions options, IReadOnlyList<PreferencePair> pairs, string outDir, bool resume = false,
        Action<AlignmentStep>? onStep = null, CancellationToken cancel = default)
    {
        options.Validate();
        TorchRuntime.SetThreads(options.Threads);
        var device = TorchRuntime.ParseDevice(options.Device);
        using var run = new AlignmentRunDirectory(outDir, options, resume);
        using var policy = AlignmentPolicy.Load(options.Policy, options.Method, options.Lora, valueHead: false, options.Seed, device);
        var kept = PreferenceData.Encodable(pairs, policy.Template, policy.Tokenizer, out _);
        if (kept.Count == 0) throw new InvalidInputException($"dpo: none of the {pairs.Count} pairs can be encoded by the tokenizer of {options.Policy}");
        var sequences = kept.Select(p => (Chosen: ReplySequences.Of(p.Prompt, p.Chosen, policy.Template, policy.Tokenizer), Rejected: ReplySequences.Of(p.Prompt, p.Rejected, policy.Template, policy.Tokenizer))).ToList();
        bool average = DpoLossTypes.AveragesLogProbs(options.LossType);
        var (refChosen, refRejected) = DpoLossTypes.NeedsReference(options.LossType) ? ReferenceLogProbs(policy, sequences, average, device) : (null, null);

        var (parameters, optimizer) = AlignmentOptimizer.Create(policy);
        using var _p = parameters;
        using var _o = optimizer;
        run.Restore(policy, optimizer);
        var wall = Stopwatch.StartNew();
        int batchSize = Math.Min(options.BatchSize, sequences.Count);
        for (int step = run.StartStep; step < options.MaxIters; step++)
        {
            cancel.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            int[] index = StepOrder.Batch(sequences.Count, batchSize, step, options.Seed);
            double lr = LearningRateSchedule.At(step, options.Schedule);
            policy.Model.train();
            var values = new Dictionary<string, double>();
            using (var scope = NewDisposeScope())
            {
                parameters.ZeroGrad();
                using var batch = ReplyBatch.Create([.. index.Select(i => sequences[i].Chosen), .. index.Select(i => sequences[i].Rejected)], policy.Model.ContextLength, device);
                Tensor logps = batch.SumOverReply(batch.TokenLogProbs(policy.Model.forward(batch.Input)[.., ..^1]), average);
                Tensor chosen = logps[..batchSize], rejected = logps[batchSize..];
                Tensor? rc = refChosen is null ? null : tensor(index.Select(i => (float)refChosen[i]).ToArray()).to(device);
                Tensor? rr = refRejected is null ? null : tensor(index.Select(i => (float)refRejected[i]).ToArray()).to(device);
                var output = AlignmentLosses.Dpo(options.LossType, chosen, rejected, rc, rr, options.Beta, options.LabelSmoothing, options.SimpoGamma);
                Tensor loss = output.Losses.mean();
                loss.backward();
                if (options.GradClip > 0) parameters.ClipGradNorm(options.GradClip);
                optimizer.LearningRate = lr;
                optimizer.Step();
                values["loss"] = loss.item<float>();
                values["chosen_reward"] = output.ChosenRewards.mean().item<float>();
                values["rejected_reward"] = output.RejectedRewards.mean().item<float>();
                values["reward_accuracy"] = output.ChosenRewards.gt(output.RejectedRewards).to(ScalarType.Float32).mean().item<float>();
                values["reward_margin"] = (output.ChosenRewards - output.RejectedRewards).mean().item<float>();
                values["chosen_logp"] = chosen.detach().mean().item<float>();
                values["rejected_logp"] = rejected.detach().mean().item<float>();
                values["lr"] = lr;
            }
            run.EndStep(new AlignmentStep(step, options.MaxIters, sw.Elapsed.TotalMilliseconds, values), options, policy, optimizer, onStep);
        }
        return Finish(run, policy, options, $"dpo:{options.LossType}", wall.Elapsed.TotalSeconds, 0);
    }

    /// <summary>The reference's log-probs of every chosen and rejected reply (sums, or averages for ipo), computed once.</summary>
    static (double[] Chosen, double[] Rejected) ReferenceLogProbs(AlignmentPolicy policy, IReadOnlyList<(SftExample Chosen, SftExample Rejected)> sequences, bool average, Device device)
    {
        var chosen = new double[sequences.Count];
        var rejected = new double[sequences.Count];
        const int batchSize = 32;
        for (int i = 0; i < sequences.Count; i += batchSize)
        {
            using var scope = NewDisposeScope();
            var part = sequences.Skip(i).Take(batchSize).ToList();
            using var batch = ReplyBatch.Create([.. part.Select(s => s.Chosen), .. part.Select(s => s.Rejected)], policy.Model.ContextLength, device);
            var logps = batch.SumOverReply(policy.ReferenceLogProbs(batch), average).to(ScalarType.Float64).cpu().data<double>().ToArray();
            for (int j = 0; j < part.Count; j++)
            {
                chosen[i + j] = logps[j];
                rejected[i + j] = logps[part.Count + j];
            }
        }
        return (chosen, rejected);
    }

    /// <summary>The end of every alignment run: export the policy, write the summary and curves, drop the resume state.</summary>
    internal static AlignmentSummary Finish(AlignmentRunDirectory run, AlignmentPolicy policy, AlignmentOptions options, string algorithm, double seconds, long sampled)
    {
        policy.Model.eval();
        policy.Export(run.Dir);
        var summary = new AlignmentSummary
        {
            Algorithm = algorithm, Method = policy.Method, TrainableParameters = policy.Trainable.Sum(p => p.Parameter.numel()), Iters = options.MaxIters,
            ResumedFrom = run.StartStep, TrainSeconds = Math.Round(seconds, 1), SampledReplies = sampled, PeakRssMb = Math.Round(run.PeakRssMb, 1),
            Final = run.Last.Where(kv => double.IsFinite(kv.Value)).ToDictionary(kv => kv.Key, kv => Math.Round(kv.Value, 6)),
        };
        AtomicFile.WriteAllText(Path.Combine(run.Dir, SummaryFile), JsonSerializer.Serialize(summary, Json.Options));
        var rows = run.ReadSteps();
        if (algorithm.StartsWith("dpo", StringComparison.Ordinal))
        {
            AlignmentPlots.Write(run.Dir, "loss.png", $"{algorithm}: loss", "loss", rows, ["loss"]);
            AlignmentPlots.Write(run.Dir, "rewards.png", $"{algorithm}: implicit rewards", "β·log(π/π_ref)", rows, ["chosen_reward", "rejected_reward", "reward_margin"]);
        }
        else
        {
            AlignmentPlots.Write(run.Dir, "reward.png", $"{algorithm}: reward of sampled replies", "reward", rows, ["reward_mean", "rule_rate", "exact_match"]);
            AlignmentPlots.Write(run.Dir, "kl.png", $"{algorithm}: KL to the reference", "nats per reply", rows, ["kl", "entropy"]);
        }
        run.Finish();
        return summary;
    }
}
