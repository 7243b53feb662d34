using System.Diagnostics;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Runtime;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Alignment;

/// <summary>GRPO's settings; defaults follow TRL's GRPOTrainer (β 0.04, rewards scaled by the group's std, one update per batch).</summary>
public sealed record GrpoOptions : AlignmentOptions
{
    /// <summary>"exact-match" (the default: a verifiable reward), "style", or "rm:DIR" (<see cref="RewardFunctions"/>).</summary>
    public string Reward { get; init; } = "exact-match";
    /// <summary>The synthetic suite whose practice prompts (<see cref="AlignmentPrompts.Synthetic"/>) are sampled and whose answers the rule checks.</summary>
    public SyntheticSuiteOptions Suite { get; init; } = new();
    /// <summary>Prompts per step.</summary>
    public int PromptsPerStep { get; init; } = 8;
    /// <summary>Replies per prompt: the group whose rewards are normalised together.</summary>
    public int SamplesPerPrompt { get; init; } = 8;
    /// <summary>Longest reply sampled.</summary>
    public int MaxNewTokens { get; init; } = 24;
    /// <summary>Sampling temperature.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Weight β of the k3 KL penalty to the reference in the loss; 0 drops the reference.</summary>
    public double Beta { get; init; } = 0.04;
    /// <summary>Divide advantages by the group's reward std (GRPO); false leaves r − mean (Dr. GRPO, nanochat).</summary>
    public bool ScaleRewards { get; init; } = true;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        static void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new InvalidInputException($"grpo options: {field} {problem}");
        }
        Require(PromptsPerStep > 0, "prompts_per_step", "must be positive");
        Require(SamplesPerPrompt > 1, "samples_per_prompt", "must be at least 2 (a group needs a mean to compare with)");
        Require(MaxNewTokens > 0, "max_new_tokens", "must be positive");
        Require(Temperature > 0, "temperature", "must be positive");
        Require(Beta >= 0, "beta", "must not be negative");
    }
}

/// <summary>
/// Reinforcement learning from verifiable rewards with GRPO (Shao et al. 2024; TRL's GRPOTrainer; nanochat's RL stage):
/// each step samples a group of k replies per prompt (decoded together through the KV cache), rewards each — by default
/// 1 when it states the right answer, a check no model can game — and gives every token of a reply the group-normalised
/// advantage (r − mean)/(std + 1e-4). No value model: the group is the baseline. The loss adds β·k3 KL to the reference.
/// Logged per step: reward_mean/std, kl (k1 per reply, comparable with PPO's), zero_std_groups (groups that teach
/// nothing), exact_match and rule_rate of the rollouts, reply_tokens.
/// </summary>
public static class GrpoTrainer
{
    /// <summary>Runs GRPO and writes <paramref name="outDir"/> as PPO does; with <paramref name="resume"/>, continues a killed run bit-identically.</summary>
    public static AlignmentSummary Run(GrpoOptions options, string outDir, bool resume = false, Action<AlignmentStep>? onStep = null, CancellationToken cancel = default)
    {
        options.Validate();
        TorchRuntime.SetThreads(options.Threads);
        var device = TorchRuntime.ParseDevice(options.Device);
        using var run = new AlignmentRunDirectory(outDir, options, resume);
        using var policy = AlignmentPolicy.Load(options.Policy, options.Method, options.Lora, valueHead: false, options.Seed, device);
        var reward = RewardFunctions.Parse(options.Reward, policy, device);
        var prompts = AlignmentPrompts.Practice(options.Suite);
        var promptIds = prompts.Select(p => ReplySequences.PromptIds(p.Prompt, policy.Template, policy.Tokenizer)).ToList();
        var (parameters, optimizer) = AlignmentOptimizer.Create(policy);
        using var _p = parameters;
        using var _o = optimizer;
        run.Restore(policy, optimizer);
        if (run.Resumed is null) torch.manual_seed(options.Seed + 1);
        var wall = Stopwatch.StartNew();
        int k = options.SamplesPerPrompt;
        long sampled = (long)run.StartStep * options.PromptsPerStep * k;

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
                foreach (var r in Rollouts.Sample(policy.Model, policy.Tokenizer, promptIds[i], k, options.MaxNewTokens, options.Temperature, policy.EndOfTurnId, device))
                {
                    stepPrompts.Add(prompts[i]);
                    rollouts.Add(r);
                    sequences.Add(r.Sequence(promptIds[i]));
                }
            sampled += rollouts.Count;
            float[] scores = reward.Score(stepPrompts, rollouts, sequences);

            var values = new Dictionary<string, double>();
            using (var scope = NewDisposeScope())
            {
                using var batch = ReplyBatch.Create(sequences, policy.Model.ContextLength, device);
                Tensor rewards = tensor(scores).to(device);
                Tensor advantages = AlignmentLosses.GroupAdvantages(rewards, k, options.ScaleRewards);
                Tensor refLogps = policy.ReferenceLogProbs(batch);
                parameters.ZeroGrad();
                policy.Model.train();
                Tensor logps = batch.TokenLogProbs(policy.Model.forward(batch.Input)[.., ..^1]);
                Tensor loss = AlignmentLosses.GrpoLoss(logps, refLogps, advantages, batch.Mask, options.Beta);
                loss.backward();
                if (options.GradClip > 0) parameters.ClipGradNorm(options.GradClip);
                optimizer.LearningRate = lr;
                optimizer.Step();
                values["loss"] = loss.item<float>();
                values["kl"] = ((logps.detach() - refLogps) * batch.Mask).sum(1).mean().item<float>();
                values["zero_std_groups"] = rewards.view(-1, k).std(1).eq(0).to(ScalarType.Float32).mean().item<float>();
            }
            values["reward_mean"] = scores.Average();
            values["reward_std"] = PpoTrainer.Std(scores);
            PpoTrainer.RolloutFigures(values, stepPrompts, rollouts);
            values["lr"] = lr;
            run.EndStep(new AlignmentStep(step, options.MaxIters, sw.Elapsed.TotalMilliseconds, values), options, policy, optimizer, onStep);
        }
        return DpoTrainer.Finish(run, policy, options, $"grpo:{reward.Name}", wall.Elapsed.TotalSeconds, sampled);
    }
}
