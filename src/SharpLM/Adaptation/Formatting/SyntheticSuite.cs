using SharpLM.Runtime;

namespace SharpLM.Adaptation.Formatting;

/// <summary>How <see cref="SyntheticSuite.Build"/> splits the synthetic tasks.</summary>
public sealed record SyntheticSuiteOptions
{
    /// <summary>Seeds every choice: held-out phrasings, phrasings per example and slot values.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>The tasks to use; null means <see cref="SyntheticTasks.All"/>.</summary>
    public IReadOnlyList<SyntheticTask>? Tasks { get; init; }
    /// <summary>Training examples drawn for each task that is not held out.</summary>
    public int TrainPerTask { get; init; } = 200;
    /// <summary>Examples drawn for each task in each test split it appears in (seen, held-out templates, held-out tasks).</summary>
    public int TestPerTask { get; init; } = 50;
    /// <summary>Phrasings of each training task never used in training (chosen by the seed), tested separately.</summary>
    public int HeldOutTemplatesPerTask { get; init; } = 1;
    /// <summary>Tasks never trained on, tested with all their phrasings (unseen-task generalisation, as FLAN).</summary>
    public IReadOnlyList<string> HeldOutTasks { get; init; } = [];
    /// <summary>Fraction (0–1) of training replies written in the house style (<see cref="AnswerStyle"/>), chosen by a
    /// generator of their own so the instances drawn do not change; 0 by default.</summary>
    public double StyledReplies { get; init; }
}

/// <summary>
/// The suite's splits. Held-out templates and held-out tasks never occur in <see cref="Train"/>;
/// <see cref="TestSeen"/> uses training tasks and phrasings but, where the task has enough distinct instances,
/// prompts that are not in the training split.
/// </summary>
public sealed record SyntheticSplits(
    IReadOnlyList<SyntheticExample> Train,
    IReadOnlyList<SyntheticExample> TestSeen,
    IReadOnlyList<SyntheticExample> TestHeldOutTemplates,
    IReadOnlyList<SyntheticExample> TestHeldOutTasks,
    IReadOnlyDictionary<string, IReadOnlyList<int>> HeldOutTemplates);

/// <summary>
/// The synthetic instruction-following suite: seeded and deterministic (one <see cref="SplitMix64"/> drives every
/// choice), split by held-out phrasings and held-out tasks, scored by exact match — so instruction tuning can be
/// measured on a laptop.
/// </summary>
public static class SyntheticSuite
{
    /// <summary>How many times a test draw may repeat a training prompt before it is accepted anyway (tiny tasks
    /// such as first_letter have fewer distinct instances than a test split asks for).</summary>
    const int MaxRedraws = 20;

    /// <exception cref="ArgumentException">Unknown held-out task, bad counts, or every phrasing of a task held out.</exception>
    public static SyntheticSplits Build(SyntheticSuiteOptions options)
    {
        var tasks = options.Tasks ?? SyntheticTasks.All;
        if (options.TrainPerTask < 0 || options.TestPerTask < 0 || options.HeldOutTemplatesPerTask < 0)
            throw new ArgumentException("counts must not be negative");
        foreach (string name in options.HeldOutTasks)
            if (!tasks.Any(t => t.Name == name))
                throw new ArgumentException($"held-out task '{name}' is not in the suite ({string.Join(", ", tasks.Select(t => t.Name))})");

        if (options.StyledReplies is < 0 or > 1 || double.IsNaN(options.StyledReplies)) throw new ArgumentException("styled replies must be a fraction in [0, 1]");
        var random = new SplitMix64(options.Seed);
        var styleRandom = new SplitMix64(options.Seed ^ 0x5A17E5EEDUL);
        var train = new List<SyntheticExample>();
        var testSeen = new List<SyntheticExample>();
        var testHeldOutTemplates = new List<SyntheticExample>();
        var testHeldOutTasks = new List<SyntheticExample>();
        var heldOut = new Dictionary<string, IReadOnlyList<int>>();

        foreach (SyntheticTask task in tasks)
        {
            var all = Enumerable.Range(0, task.Templates.Count).ToArray();
            if (options.HeldOutTasks.Contains(task.Name))
            {
                for (int i = 0; i < options.TestPerTask; i++) testHeldOutTasks.Add(task.Sample(random, Pick(random, all)));
                continue;
            }
            if (options.HeldOutTemplatesPerTask >= task.Templates.Count)
                throw new ArgumentException($"task {task.Name} has {task.Templates.Count} phrasings; holding out {options.HeldOutTemplatesPerTask} leaves none to train on");
            var shuffled = Shuffle(random, all);
            var held = shuffled[..options.HeldOutTemplatesPerTask].Order().ToArray();
            var seen = shuffled[options.HeldOutTemplatesPerTask..].Order().ToArray();
            heldOut[task.Name] = held;

            var trainPrompts = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < options.TrainPerTask; i++)
            {
                var example = task.Sample(random, Pick(random, seen));
                trainPrompts.Add(example.Prompt);
                if (options.StyledReplies > 0 && styleRandom.NextLong(1_000_000) < options.StyledReplies * 1_000_000)
                    example = example with { Answer = AnswerStyle.Apply(example.Answer) };
                train.Add(example);
            }
            for (int i = 0; i < options.TestPerTask; i++)
            {
                SyntheticExample example;
                int tries = 0;
                do example = task.Sample(random, Pick(random, seen));
                while (trainPrompts.Contains(example.Prompt) && ++tries < MaxRedraws);
                testSeen.Add(example);
            }
            if (held.Length > 0)
                for (int i = 0; i < options.TestPerTask; i++) testHeldOutTemplates.Add(task.Sample(random, Pick(random, held)));
        }
        return new SyntheticSplits(train, testSeen, testHeldOutTemplates, testHeldOutTasks, heldOut);
    }

    /// <summary>Exact match after trimming surrounding whitespace from both; a reply in the house style
    /// (<see cref="AnswerStyle"/>) is judged by the answer it states.</summary>
    public static bool IsCorrect(string response, string answer) => string.Equals(AnswerStyle.Strip(response), answer.Trim(), StringComparison.Ordinal);

    /// <summary>Exact-match accuracy per task (and "all") of <paramref name="responses"/>, aligned with <paramref name="examples"/>.</summary>
    public static IReadOnlyDictionary<string, double> Accuracy(IReadOnlyList<SyntheticExample> examples, IReadOnlyList<string> responses)
    {
        if (examples.Count != responses.Count) throw new ArgumentException($"{examples.Count} examples but {responses.Count} responses");
        var correct = examples.Select((e, i) => (e.Task, Correct: IsCorrect(responses[i], e.Answer))).ToList();
        var result = correct.GroupBy(c => c.Task).ToDictionary(g => g.Key, g => g.Average(c => c.Correct ? 1.0 : 0.0));
        if (correct.Count > 0) result["all"] = correct.Average(c => c.Correct ? 1.0 : 0.0);
        return result;
    }

    static int Pick(SplitMix64 random, int[] items) => items[(int)random.NextLong(items.Length)];

    static int[] Shuffle(SplitMix64 random, int[] items)
    {
        var result = items.ToArray();
        for (int i = result.Length - 1; i > 0; i--)
        {
            int j = (int)random.NextLong(i + 1);
            (result[i], result[j]) = (result[j], result[i]);
        }
        return result;
    }
}
