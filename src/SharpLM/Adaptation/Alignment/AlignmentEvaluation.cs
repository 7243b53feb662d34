using SharpLM.Adaptation.Formatting;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Alignment;

/// <summary>How a model's held-out replies score.</summary>
public sealed record AlignmentScores
{
    /// <summary>Held-out prompts scored.</summary>
    public required int Prompts { get; init; }
    /// <summary>Share of replies stating the right answer (house style or not).</summary>
    public required double ExactMatch { get; init; }
    /// <summary>Share of replies following the house style (the rule the preference data encodes).</summary>
    public required double RulePreferenceRate { get; init; }
    /// <summary>Share of prompts where the reward model scores this reply above the SFT model's (ties half); null without one.</summary>
    public double? RewardWinRate { get; init; }
    /// <summary>Mean reward-model score of the replies; null without one.</summary>
    public double? MeanReward { get; init; }
    /// <summary>Mean KL to the reference in nats per reply: Σ(log π − log π_ref) over sampled replies, or for best-of-n the
    /// analytic log n − (n−1)/n (Stiennon et al. 2020); null when not measured.</summary>
    public double? KlToReference { get; init; }
}

/// <summary>
/// Scoring aligned models on held-out prompts: greedy replies, judged by rule (exact match, house style) and by the
/// reward model against the SFT model's replies; KL to the reference from sampled replies; and best-of-n sampling,
/// the baseline every training method must beat.
/// </summary>
public static class AlignmentEvaluation
{
    /// <summary>The greedy reply of <paramref name="model"/> to each prompt.</summary>
    public static IReadOnlyList<string> GreedyReplies(LanguageModel model, ITokenizer tokenizer, ChatTemplate template, IReadOnlyList<AlignmentPrompt> prompts, int maxNewTokens, Device device)
    {
        int stop = tokenizer.IdOf(template.EndOfTurn) ?? throw new InvalidInputException($"the tokenizer has no {template.EndOfTurn}");
        return prompts.Select(p => Rollouts.Sample(model, tokenizer, ReplySequences.PromptIds(p.Prompt, template, tokenizer), 1, maxNewTokens, 0, stop, device)[0].Text).ToList();
    }

    /// <summary>
    /// Best-of-n (rejection sampling): n replies per prompt sampled at <paramref name="temperature"/>, the one the reward
    /// model scores highest kept.
    /// </summary>
    public static IReadOnlyList<string> BestOfN(LanguageModel model, ITokenizer tokenizer, ChatTemplate template, RewardModel rewardModel,
        IReadOnlyList<AlignmentPrompt> prompts, int n, int maxNewTokens, double temperature, Device device)
    {
        int stop = tokenizer.IdOf(template.EndOfTurn)!.Value;
        var best = new List<string>();
        foreach (var p in prompts)
        {
            int[] ids = ReplySequences.PromptIds(p.Prompt, template, tokenizer);
            var samples = Rollouts.Sample(model, tokenizer, ids, n, maxNewTokens, temperature, stop, device);
            float[] scores = rewardModel.ScoreSequences(samples.Select(s => s.Sequence(ids)).ToList());
            best.Add(samples[Array.IndexOf(scores, scores.Max())].Text);
        }
        return best;
    }

    /// <summary>KL(π ‖ π_ref) in nats per reply, estimated from <paramref name="samples"/> replies per prompt sampled from the policy at temperature 1.</summary>
    public static double SequenceKl(Gpt policy, Gpt reference, ITokenizer tokenizer, ChatTemplate template, IReadOnlyList<AlignmentPrompt> prompts, int samples, int maxNewTokens, Device device)
    {
        int stop = tokenizer.IdOf(template.EndOfTurn)!.Value;
        double total = 0;
        int count = 0;
        foreach (var p in prompts)
        {
            int[] ids = ReplySequences.PromptIds(p.Prompt, template, tokenizer);
            var rollouts = Rollouts.Sample(policy, tokenizer, ids, samples, maxNewTokens, 1.0, stop, device);
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            using var batch = ReplyBatch.Create(rollouts.Select(r => r.Sequence(ids)).ToList(), policy.ContextLength, device);
            Tensor kl = batch.SumOverReply(batch.TokenLogProbs(policy.forward(batch.Input)[.., ..^1]) - batch.TokenLogProbs(reference.forward(batch.Input)[.., ..^1]));
            total += kl.sum().item<float>();
            count += rollouts.Count;
        }
        return total / count;
    }

    /// <summary>Scores <paramref name="replies"/> to <paramref name="prompts"/>: exact match, house-style rate, and with a reward
    /// model its mean score and win rate against <paramref name="baseline"/> replies.</summary>
    public static AlignmentScores Score(IReadOnlyList<AlignmentPrompt> prompts, IReadOnlyList<string> replies, RewardModel? rewardModel, IReadOnlyList<string>? baseline, double? kl)
    {
        double? win = null, mean = null;
        if (rewardModel is not null)
        {
            float[] mine = rewardModel.Score(prompts.Zip(replies, (p, r) => (p.Prompt, r)).ToList());
            mean = Math.Round(mine.Average(), 4);
            if (baseline is not null)
            {
                float[] theirs = rewardModel.Score(prompts.Zip(baseline, (p, r) => (p.Prompt, r)).ToList());
                win = Math.Round(mine.Zip(theirs, (a, b) => a > b ? 1.0 : a == b ? 0.5 : 0.0).Average(), 4);
            }
        }
        return new AlignmentScores
        {
            Prompts = prompts.Count,
            ExactMatch = Math.Round(prompts.Zip(replies).Average(x => x.First.Answer is { } a && SyntheticSuite.IsCorrect(x.Second, a) ? 1.0 : 0.0), 4),
            RulePreferenceRate = Math.Round(replies.Average(r => AnswerStyle.Follows(r) ? 1.0 : 0.0), 4),
            RewardWinRate = win, MeanReward = mean, KlToReference = kl is double k ? Math.Round(k, 4) : null,
        };
    }

    /// <summary>
    /// `sharplm align eval`: scores the checkpoint in <paramref name="policyDir"/> on the synthetic suite's held-out prompts
    /// — greedy replies, or best-of-<paramref name="bestOfN"/> picked by the reward model — against the
    /// <paramref name="referenceDir"/> checkpoint's greedy replies (reward-model win rate) and with the KL to it.
    /// </summary>
    /// <exception cref="InvalidInputException">Best-of-n without a reward model, or models that read different tokenizers (names both).</exception>
    public static AlignmentScores Evaluate(string policyDir, string? referenceDir, string? rewardModelDir, int bestOfN, int limit, int seed,
        SyntheticSuiteOptions? suite = null, int klSamples = 4, int maxNewTokens = 24)
    {
        var device = CPU;
        if (bestOfN > 0 && rewardModelDir is null) throw new InvalidInputException("--n: best-of-n needs --reward-model to pick");
        var (policy, tokenizer, template) = AlignmentPolicy.LoadChatModel(policyDir, device);
        string policyTokenizer = AlignmentPolicy.TokenizerSha256Of(policyDir);
        using var rm = rewardModelDir is null ? null : RewardModel.Load(rewardModelDir, device);
        rm?.RequireSameTokenizer(rewardModelDir!, policyDir, policyTokenizer);
        Gpt? reference = null;
        if (referenceDir is not null)
        {
            string referenceTokenizer = AlignmentPolicy.TokenizerSha256Of(referenceDir);
            if (referenceTokenizer != policyTokenizer)
                throw InvalidInputException.ForFile(referenceDir, $"reference reads tokenizer sha256 {referenceTokenizer[..12]}…, the policy {policyDir} tokenizer sha256 {policyTokenizer[..12]}…");
            reference = AlignmentPolicy.LoadChatModel(referenceDir, device).Model;
        }
        var (_, all) = AlignmentPrompts.Synthetic(suite ?? new SyntheticSuiteOptions());
        var prompts = limit > 0 ? all.Take(limit).ToList() : all;
        manual_seed(seed);
        var replies = bestOfN > 0
            ? BestOfN(policy, tokenizer, template, rm!, prompts, bestOfN, maxNewTokens, 1.0, device)
            : GreedyReplies(policy, tokenizer, template, prompts, maxNewTokens, device);
        var baseline = reference is null ? null : GreedyReplies(reference, tokenizer, template, prompts, maxNewTokens, device);
        double? kl = reference is null ? null : bestOfN > 0 ? BestOfNKl(bestOfN) : SequenceKl(policy, reference, tokenizer, template, prompts, klSamples, maxNewTokens, device);
        var scores = Score(prompts, replies, rm, baseline, kl);
        policy.Dispose();
        reference?.Dispose();
        return scores;
    }

    /// <summary>Best-of-n's KL to the sampling model, log n − (n−1)/n nats (Stiennon et al. 2020).</summary>
    public static double BestOfNKl(int n) => Math.Log(n) - (n - 1.0) / n;
}
