using System.Diagnostics;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Runtime;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Alignment;

/// <summary>PPO-RLHF's settings; defaults follow TRL's PPO (clip 0.2, value clip 0.2, vf_coef 0.1, γ 1, λ 0.95, 4 epochs,
/// adaptive KL from 0.2), with a target KL sized for replies of a few tokens.</summary>
public sealed record PpoOptions : AlignmentOptions
{
    /// <summary>The reward: "rm:DIR" (a trained reward model, the RLHF recipe), or a rule (<see cref="RewardFunctions"/>).</summary>
    public required string Reward { get; init; }
    /// <summary>The synthetic suite whose practice prompts (<see cref="AlignmentPrompts.Synthetic"/>) are sampled (and whose answers rules check).</summary>
    public SyntheticSuiteOptions Suite { get; init; } = new();
    /// <summary>Prompts per step.</summary>
    public int PromptsPerStep { get; init; } = 16;
    /// <summary>Replies sampled per prompt (decoded together through the KV cache).</summary>
    public int SamplesPerPrompt { get; init; } = 2;
    /// <summary>Longest reply sampled.</summary>
    public int MaxNewTokens { get; init; } = 24;
    /// <summary>Sampling temperature of rollouts.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Passes over each batch of rollouts.</summary>
    public int PpoEpochs { get; init; } = 4;
    /// <summary>Minibatches per pass.</summary>
    public int MiniBatches { get; init; } = 2;
    /// <summary>ε of the clipped policy ratio.</summary>
    public double ClipRange { get; init; } = 0.2;
    /// <summary>ε of the clipped value prediction.</summary>
    public double ClipRangeValue { get; init; } = 0.2;
    /// <summary>Weight of the value loss.</summary>
    public double ValueCoef { get; init; } = 0.1;
    /// <summary>Discount γ.</summary>
    public double Gamma { get; init; } = 1.0;
    /// <summary>GAE's λ.</summary>
    public double Lambda { get; init; } = 0.95;
    /// <summary>Initial KL coefficient β of the per-token penalty −β·KL.</summary>
    public double InitKlCoef { get; init; } = 0.2;
    /// <summary>Target KL (nats per reply) of the adaptive controller; 0 keeps β fixed.</summary>
    public double TargetKl { get; init; } = 1.0;
    /// <summary>Horizon of the adaptive controller (samples).</summary>
    public double KlHorizon { get; init; } = 10_000;
    /// <summary>Per-token KL estimator in the reward (<see cref="AlignmentLosses.KlEstimators"/>); k1 as TRL.</summary>
    public string KlEstimator { get; init; } = AlignmentLosses.KlEstimators.K1;
    /// <summary>Subtracted from the score of a reply that did not reach the end-of-turn token.</summary>
    public double MissingEosPenalty { get; init; } = 1.0;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        static void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new InvalidInputException($"ppo options: {field} {problem}");
        }
        Require(PromptsPerStep > 0, "prompts_per_step", "must be positive");
        Require(SamplesPerPrompt > 0, "samples_per_prompt", "must be positive");
        Require(MaxNewTokens > 0, "max_new_tokens", "must be positive");
        Require(Temperature > 0, "temperature", "must be positive");
        Require(PpoEpochs > 0, "ppo_epochs", "must be positive");
        Require(MiniBatches > 0 && MiniBatches <= PromptsPerStep * SamplesPerPrompt, "mini_batches", "must be between 1 and the rollouts per step");
        Require(ClipRange > 0 && ClipRangeValue > 0, "clip_range", "must be positive");
        Require(Gamma is > 0 and <= 1 && Lambda is >= 0 and <= 1, "gamma/lambda", "must be in (0, 1] and [0, 1]");
        Require(InitKlCoef >= 0 && TargetKl >= 0 && KlHorizon > 0, "kl", "coefficients must not be negative");
        Require(AlignmentLosses.KlEstimators.All.Contains(KlEstimator), "kl_estimator", $"must be one of {string.Join(", ", AlignmentLosses.KlEstimators.All)}");
    }
}

/// <summary>
/// RLHF with PPO (Ouyang et al. 2022; TRL's PPOTrainer): each step samples replies to a batch of prompts from the policy
/// (KV cache), scores them with the reward, and turns the score into per-token rewards: −β·KL(policy ‖ reference) at every
/// reply token (the estimator in <see cref="PpoOptions.KlEstimator"/>, k1 = log π − log π_ref by default) plus the score at
/// the last. GAE over a value head on the policy's own hidden states gives advantages (whitened) and returns; then
/// several epochs of minibatches minimise the clipped policy loss plus vf_coef × the clipped value loss. After each batch
/// the adaptive controller moves β toward the target KL. With LoRA, policy, value head and reference share one base.
/// Logged per step: reward_mean/std, kl (per reply), kl_coef, entropy, clip_fraction, value_loss, policy_loss,
/// rule_rate (house style) and exact_match of the rollouts, reply_tokens.
/// </summary>
public static class PpoTrainer
{
    /// <summary>Runs PPO and writes <paramref name="outDir"/> (policy checkpoint, metrics.jsonl, summary.json, reward.png, kl.png);
    /// with <paramref name="resume"/>, continues a killed run from its last state, bit-identically.</summary>
    public static AlignmentSummary Run(PpoOptions options, string outDir, bool resume = false, Action<AlignmentStep>? onStep = null, CancellationToken cancel = default)
    {
        options.Validate();
        TorchRuntime.SetThreads(options.Threads);
        var device = TorchRuntime.ParseDevice(options.Device);
        using var run = new AlignmentRunDirectory(outDir, options, resume);
        using var policy = AlignmentPolicy.Load(options.Policy, options.Method, options.Lora, valueHead: true, options.Seed, device);
        var reward = RewardFunctions.Parse(options.Reward, policy, device);
        var prompts = AlignmentPrompts.Practice(options.Suite);
        var promptIds = prompts.Select(p => ReplySequences.PromptIds(p.Prompt, policy.Template, policy.Tokenizer)).ToList();
        var (parameters, optimizer) = AlignmentOptimizer.Create(policy);
        using var _p = parameters;
        using var _o = optimizer;
        run.Restore(policy, optimizer);
        if (run.Resumed is null) torch.manual_seed(options.Seed + 1); // sampling's own stream, after the fresh weights
        double klCoef = run.Resumed?.Values.GetValueOrDefault("kl_coef", options.InitKlCoef) ?? options.InitKlCoef;
        var wall = Stopwatch.StartNew();
        long sampled = (long)run.StartStep * options.PromptsPerStep * options.SamplesPerPrompt;

        for (int step = run.StartStep; step < options.MaxIters; step++)
        {
            cancel.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            double lr = LearningRateSchedule.At(step, options.Schedule);
            int[] chosen = StepOrder.Batch(prompts.Count, Math.Min(options.PromptsPerStep, prompts.Count), step, options.Seed);
            var stepPrompts = new List<AlignmentPrompt>();
            var rollouts = new List<Rollout>();
            var sequences = new List<SftExample>();
            foreach (int i in chosen)
                foreach (var r in Rollouts.Sample(policy.Model, policy.Tokenizer, promptIds[i], options.SamplesPerPrompt, options.MaxNewTokens, options.Temperature, policy.EndOfTurnId, device))
                {
                    stepPrompts.Add(prompts[i]);
                    rollouts.Add(r);
                    sequences.Add(r.Sequence(promptIds[i]));
                }
            sampled += rollouts.Count;
            float[] scores = reward.Score(stepPrompts, rollouts, sequences);
            for (int i = 0; i < scores.Length; i++) if (!rollouts[i].Stopped) scores[i] -= (float)options.MissingEosPenalty;

            var values = new Dictionary<string, double>();
            using (var scope = NewDisposeScope())
            {
                using var batch = ReplyBatch.Create(sequences, policy.Model.ContextLength, device);
                Tensor mask = batch.Mask;
                Tensor oldLogps, oldValues, refLogps;
                using (no_grad())
                {
                    var (logits, v) = Forward(policy, batch.Input);
                    oldLogps = batch.TokenLogProbs(logits);
                    oldValues = v * mask;
                    refLogps = policy.ReferenceLogProbs(batch);
                }
                Tensor kl = AlignmentLosses.Kl(oldLogps, refLogps, options.KlEstimator) * mask;
                Tensor rewards = -klCoef * kl;
                var lastTarget = batch.LastIndex.Select(i => i - 1).ToArray();
                Tensor scoreTensor = zeros_like(rewards);
                var scoreRows = arange(rollouts.Count, device: device);
                scoreTensor.index_put_(tensor(scores).to(device), scoreRows, tensor(lastTarget).to(device));
                rewards = rewards + scoreTensor;
                var (advantages, returns) = AlignmentLosses.Gae(oldValues, rewards, mask, options.Gamma, options.Lambda);
                advantages = AlignmentLosses.Whiten(advantages, mask);

                double policyLoss = 0, valueLoss = 0, clipFraction = 0, entropy = 0;
                int updates = 0;
                int n = rollouts.Count, perMini = (n + options.MiniBatches - 1) / options.MiniBatches;
                for (int epoch = 0; epoch < options.PpoEpochs; epoch++)
                {
                    var order = StepOrder.Batch(n, n, step * options.PpoEpochs + epoch, options.Seed ^ 0x7070);
                    for (int m = 0; m < options.MiniBatches; m++)
                    {
                        var rows = order.Skip(m * perMini).Take(perMini).Select(r => (long)r).ToArray();
                        if (rows.Length == 0) continue;
                        using var inner = NewDisposeScope();
                        Tensor idx = tensor(rows).to(device);
                        Tensor mbMask = mask.index_select(0, idx);
                        parameters.ZeroGrad();
                        policy.Model.train();
                        var (logits, v) = Forward(policy, batch.Input.index_select(0, idx));
                        Tensor logProbsAll = logits.log_softmax(-1);
                        Tensor logps = logProbsAll.gather(-1, batch.Targets.index_select(0, idx).unsqueeze(-1)).squeeze(-1) * mbMask;
                        var (pg, pgClip) = AlignmentLosses.PpoPolicyLoss(logps, oldLogps.index_select(0, idx), advantages.index_select(0, idx), mbMask, options.ClipRange);
                        var (vf, _) = AlignmentLosses.PpoValueLoss(v * mbMask, oldValues.index_select(0, idx), returns.index_select(0, idx), mbMask, options.ClipRangeValue);
                        Tensor loss = pg + options.ValueCoef * vf;
                        loss.backward();
                        if (options.GradClip > 0) parameters.ClipGradNorm(options.GradClip);
                        optimizer.LearningRate = lr;
                        optimizer.Step();
                        policyLoss += pg.item<float>();
                        valueLoss += vf.item<float>();
                        clipFraction += pgClip.item<float>();
                        if (epoch == 0) entropy += AlignmentLosses.MaskedMean(-(logProbsAll.exp() * logProbsAll).sum(-1), mbMask).item<float>();
                        updates++;
                    }
                }
                double sequenceKl = (kl.sum(1)).mean().item<float>();
                values["reward_mean"] = scores.Average();
                values["reward_std"] = Std(scores);
                values["kl"] = sequenceKl;
                values["kl_coef"] = klCoef;
                values["entropy"] = entropy / options.MiniBatches;
                values["clip_fraction"] = clipFraction / updates;
                values["value_loss"] = valueLoss / updates;
                values["policy_loss"] = policyLoss / updates;
                if (options.TargetKl > 0) klCoef = AlignmentLosses.AdaptKlCoefficient(klCoef, sequenceKl, options.TargetKl, options.KlHorizon, n);
            }
            RolloutFigures(values, stepPrompts, rollouts);
            values["lr"] = lr;
            run.EndStep(new AlignmentStep(step, options.MaxIters, sw.Elapsed.TotalMilliseconds, values), options, policy, optimizer, onStep, new() { ["kl_coef"] = klCoef });
        }
        return DpoTrainer.Finish(run, policy, options, $"ppo:{reward.Name}", wall.Elapsed.TotalSeconds, sampled);
    }

    /// <summary>The policy's next-token logits and the value head's estimates, both [B, T−1], from one forward pass.</summary>
    static (Tensor Logits, Tensor Values) Forward(AlignmentPolicy policy, Tensor input)
    {
        Tensor hidden = policy.Model.ForwardHidden(input)[.., ..^1];
        return (policy.Model.OutputLogits(hidden), policy.ValueHead!.forward(hidden).squeeze(-1));
    }

    /// <summary>What the sampled replies say on their own: the house-style rate, exact match (when answers are known), mean length and end-of-turn rate.</summary>
    internal static void RolloutFigures(Dictionary<string, double> values, IReadOnlyList<AlignmentPrompt> prompts, IReadOnlyList<Rollout> rollouts)
    {
        values["rule_rate"] = rollouts.Average(r => AnswerStyle.Follows(r.Text) ? 1.0 : 0.0);
        if (prompts.All(p => p.Answer is not null))
            values["exact_match"] = prompts.Zip(rollouts).Average(x => SyntheticSuite.IsCorrect(x.Second.Text, x.First.Answer!) ? 1.0 : 0.0);
        values["reply_tokens"] = rollouts.Average(r => r.Tokens.Length);
        values["stopped"] = rollouts.Average(r => r.Stopped ? 1.0 : 0.0);
    }

    internal static double Std(float[] xs)
    {
        double mean = xs.Average();
        return xs.Length < 2 ? 0 : Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Length - 1));
    }
}
