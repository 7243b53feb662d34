using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Alignment;

/// <summary>A prompt for on-policy alignment (PPO, GRPO, best-of-n): the conversation so far, and the right answer where a rule can check it.</summary>
/// <param name="Prompt">The turns before the reply; the last is a user turn.</param>
/// <param name="Answer">The reference answer (synthetic suite), or null when only a reward model can judge.</param>
/// <param name="Task">The synthetic task, or "".</param>
public sealed record AlignmentPrompt(IReadOnlyList<Turn> Prompt, string? Answer, string Task)
{
    /// <summary>The synthetic instance it asks about (<see cref="SyntheticExample.Instance"/>); "" otherwise.</summary>
    public string Instance { get; init; } = "";
}

/// <summary>The prompts of the synthetic suite for alignment: practice prompts for on-policy training and held-out ones that share no instance with them.</summary>
public static class AlignmentPrompts
{
    /// <summary>Seeds the second draw of the suite the practice prompts come from.</summary>
    const ulong PracticeSeedSalt = 0x9AC71CE5UL;
    /// <summary>Draws per task of that suite, per training example of the original: most draws of tasks with a small
    /// instance space repeat a known instance and are dropped.</summary>
    const int PracticeDrawsPerTrainExample = 4;

    /// <summary>
    /// Held-out: the suite's seen-phrasing test instructions whose instance never occurs in its training split — the same
    /// split <see cref="SyntheticPreferences"/> uses, so preference pairs, RL prompts and the evaluation agree (round-robin
    /// over tasks, so the first n cover every task). Practice: new problems for on-policy training (PPO, GRPO), drawn
    /// by a second suite with a salted seed in the training phrasings, keeping only instances that are neither trained on
    /// nor held out — the way nanochat's RL stage samples GSM8K's train split. The SFT model has memorised its own
    /// training replies, so rewarding it on those teaches little; the held-out prompts are new instances, and so are the
    /// practice ones. Tasks whose every instance occurs in training or the held-out set (a handful of words to reverse
    /// or capitalise) have no practice prompts. Answers carry no house style.
    /// </summary>
    public static (IReadOnlyList<AlignmentPrompt> Practice, IReadOnlyList<AlignmentPrompt> HeldOut) Synthetic(SyntheticSuiteOptions suite)
    {
        var splits = SyntheticSuite.Build(suite with { StyledReplies = 0 });
        var trainInstances = splits.Train.Select(e => e.Instance).ToHashSet(StringComparer.Ordinal);
        var heldOutExamples = splits.TestSeen.Where(e => !trainInstances.Contains(e.Instance)).ToList();
        var heldOutInstances = heldOutExamples.Select(e => e.Instance).ToHashSet(StringComparer.Ordinal);
        var heldOut = heldOutExamples
            .GroupBy(e => e.Task).SelectMany(g => g.Select((e, i) => (e, i))).OrderBy(x => x.i).Select(x => x.e)
            .Select(Prompt).ToList();
        var fresh = SyntheticSuite.Build(suite with
        {
            Seed = suite.Seed ^ PracticeSeedSalt, TrainPerTask = PracticeDrawsPerTrainExample * suite.TrainPerTask, StyledReplies = 0, HeldOutTemplatesPerTask = 0,
        });
        var practice = fresh.Train
            .Where(e => !trainInstances.Contains(e.Instance) && !heldOutInstances.Contains(e.Instance)
                        && !(splits.HeldOutTemplates.TryGetValue(e.Task, out var held) && held.Contains(e.Template)))
            .Select(Prompt).ToList();
        return (practice, heldOut);

        static AlignmentPrompt Prompt(SyntheticExample e) => new([Turn.User(e.Prompt)], e.Answer, e.Task) { Instance = e.Instance };
    }

    /// <summary>The practice prompts of <see cref="Synthetic"/> for an on-policy trainer.</summary>
    /// <exception cref="InvalidInputException">The suite has none: every instance is trained on or held out.</exception>
    public static IReadOnlyList<AlignmentPrompt> Practice(SyntheticSuiteOptions suite)
    {
        var (practice, _) = Synthetic(suite);
        if (practice.Count == 0)
            throw new InvalidInputException("suite: no practice prompts — every instance of its tasks is trained on or held out (use tasks with more instances)");
        return practice;
    }
}

/// <summary>One sampled reply: its tokens (ending with the end-of-turn token when the model stopped), text and whether it stopped.</summary>
public sealed record Rollout(int[] Tokens, string Text, bool Stopped)
{
    /// <summary>prompt ids + reply tokens, the reply marked: what the policy, the reference and a reward model score.</summary>
    public SftExample Sequence(int[] promptIds) => ReplySequences.OfCompletion(promptIds, Tokens);
}

/// <summary>
/// Sampling replies for on-policy alignment: the k samples of one prompt decode together as a batch of k through the
/// model's KV cache (one prompt pass, then one token per step for all of them), at the given temperature (0 = greedy);
/// each reply ends at the end-of-turn token or after max_new_tokens. Drawn from libtorch's generator, so a seed (and a
/// restored generator state) reproduces them.
/// </summary>
public static class Rollouts
{
    /// <summary>Samples <paramref name="samples"/> replies to <paramref name="promptIds"/> with <paramref name="model"/>.</summary>
    public static IReadOnlyList<Rollout> Sample(LanguageModel model, ITokenizer tokenizer, int[] promptIds, int samples, int maxNewTokens, double temperature, int stopId, Device device)
    {
        int room = Math.Min(maxNewTokens, model.ContextLength - promptIds.Length);
        if (room < 1) throw new InvalidInputException($"a {promptIds.Length}-token prompt leaves no room for a reply in a {model.ContextLength}-token context");
        bool wasTraining = model.training;
        model.eval();
        var tokens = Enumerable.Range(0, samples).Select(_ => new List<int>()).ToArray();
        var done = new bool[samples];
        using (var scope = NewDisposeScope())
        using (inference_mode())
        using (var state = model.NewDecodingState(samples, device))
        {
            Tensor prompt = tensor(promptIds.Select(i => (long)i).ToArray(), new long[] { 1, promptIds.Length }).to(device).repeat(samples, 1);
            Tensor logits = model.Decode(prompt, state)[.., -1];
            for (int t = 0; t < room; t++)
            {
                Tensor next = temperature <= 0
                    ? logits.argmax(-1, keepdim: true)
                    : multinomial((logits.to(ScalarType.Float32) / temperature).softmax(-1), 1);
                long[] ids = next.cpu().data<long>().ToArray();
                for (int i = 0; i < samples; i++)
                {
                    if (done[i]) continue;
                    tokens[i].Add((int)ids[i]);
                    if (ids[i] == stopId || ids[i] == tokenizer.EndOfTextId) done[i] = true;
                }
                if (done.All(d => d) || t == room - 1) break;
                logits = model.Decode(next, state)[.., -1];
            }
        }
        model.train(wasTraining);
        return tokens.Select((r, i) =>
        {
            bool stopped = done[i];
            string text = tokenizer.Decode((stopped ? r.Take(r.Count - 1) : r).ToArray());
            return new Rollout(r.ToArray(), text, stopped);
        }).ToList();
    }
}

/// <summary>A reward for sampled replies: a rule or a reward model (GRPO's and PPO's reward functions).</summary>
public interface IRewardFunction
{
    /// <summary>How the reward was named on the command line.</summary>
    string Name { get; }
    /// <summary>One reward per reply; <paramref name="sequences"/> are the prompt + reply token sequences.</summary>
    float[] Score(IReadOnlyList<AlignmentPrompt> prompts, IReadOnlyList<Rollout> replies, IReadOnlyList<SftExample> sequences);
}

/// <summary>The reward functions by name: "exact-match" (1 when the reply states the right answer), "style" (1 when it
/// follows the house style) and "rm:DIR" (a trained reward model).</summary>
public static class RewardFunctions
{
    /// <summary>The names <see cref="Parse"/> accepts, for messages.</summary>
    public const string Names = "exact-match, style, rm:DIR";

    /// <summary>The reward function <paramref name="spec"/> names, checked against the policy it will score.</summary>
    /// <exception cref="InvalidInputException">An unknown name, or a reward model whose tokenizer differs from the policy's.</exception>
    public static IRewardFunction Parse(string spec, AlignmentPolicy policy, Device device) => spec switch
    {
        "exact-match" => new RuleReward(spec, (p, r) => p.Answer is null ? throw new InvalidInputException("--reward exact-match needs prompts with answers (the synthetic suite)") : SyntheticSuite.IsCorrect(r.Text, p.Answer) ? 1 : 0),
        "style" => new RuleReward(spec, (_, r) => AnswerStyle.Follows(r.Text) ? 1 : 0),
        _ when spec.StartsWith("rm:", StringComparison.Ordinal) => ModelReward.Load(spec, spec[3..], policy, device),
        _ => throw new InvalidInputException($"--reward: '{spec}' is not one of {Names}"),
    };

    sealed class RuleReward(string name, Func<AlignmentPrompt, Rollout, float> rule) : IRewardFunction
    {
        public string Name => name;
        public float[] Score(IReadOnlyList<AlignmentPrompt> prompts, IReadOnlyList<Rollout> replies, IReadOnlyList<SftExample> sequences) =>
            prompts.Zip(replies, rule).ToArray();
    }
}

/// <summary>A trained reward model as a reward function, refused when it reads other tokens than the policy.</summary>
public sealed class ModelReward : IRewardFunction
{
    ModelReward(string name, RewardModel model)
    {
        Name = name;
        Model = model;
    }

    /// <inheritdoc/>
    public string Name { get; }
    /// <summary>The reward model.</summary>
    public RewardModel Model { get; }

    /// <summary>Loads the reward model in <paramref name="dir"/> and checks that it reads the policy's tokenizer.</summary>
    public static ModelReward Load(string name, string dir, AlignmentPolicy policy, Device device)
    {
        var model = RewardModel.Load(dir, device);
        model.RequireSameTokenizer(dir, policy.Source, policy.TokenizerSha256);
        return new ModelReward(name, model);
    }

    /// <inheritdoc/>
    public float[] Score(IReadOnlyList<AlignmentPrompt> prompts, IReadOnlyList<Rollout> replies, IReadOnlyList<SftExample> sequences) => Model.ScoreSequences(sequences);
}
