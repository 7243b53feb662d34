using SharpLM.Runtime;

namespace SharpLM.Adaptation.Formatting;

/// <summary>How <see cref="SkillCorpus.Generate"/> writes its statements.</summary>
public sealed record SkillCorpusOptions
{
    /// <summary>Seeds every draw: tasks, instances, phrasings and paragraph lengths.</summary>
    public ulong Seed { get; init; } = 7;
    /// <summary>Statements in all.</summary>
    public int Statements { get; init; } = 100_000;
    /// <summary>Statements per paragraph are drawn between these bounds.</summary>
    public int MinPerParagraph { get; init; } = 3;
    /// <summary>Upper bound (inclusive) of the statements in a paragraph; see <see cref="MinPerParagraph"/>.</summary>
    public int MaxPerParagraph { get; init; } = 8;
    /// <summary>The tasks stated; null means <see cref="SyntheticTasks.All"/>.</summary>
    public IReadOnlyList<SyntheticTask>? Tasks { get; init; }
    /// <summary>
    /// The instruction suite the corpus is decontaminated against: an instance that suite tests on is never
    /// stated, unless its training split holds the same instance in another phrasing anyway. Null: no
    /// decontamination.
    /// </summary>
    public SyntheticSuiteOptions? DecontaminateAgainst { get; init; } = new();

    /// <summary>Checks the counts and returns these options.</summary>
    /// <exception cref="InvalidInputException">Statements is not positive, or not 1 ≤ min ≤ max per paragraph.</exception>
    public SkillCorpusOptions Validate()
    {
        if (Statements < 1) throw new InvalidInputException("skill corpus: statements must be positive");
        if (MinPerParagraph < 1 || MaxPerParagraph < MinPerParagraph)
            throw new InvalidInputException("skill corpus: statements per paragraph need 1 <= min <= max");
        return this;
    }
}

/// <summary>One stated fact: its task, the instance it states (<see cref="SyntheticTask.InstanceKey"/>) and the sentence.</summary>
public sealed record SkillStatement(string Task, string Instance, string Text);

/// <summary>What <see cref="SkillCorpus.Generate"/> wrote and what decontamination left out.</summary>
public sealed record SkillCorpusResult(IReadOnlyList<IReadOnlyList<SkillStatement>> Paragraphs, int Decontaminated);

/// <summary>
/// Pre-training text for the synthetic suite's skills: plain sentences stating the same kind of facts the
/// instructions ask for ("apple spelled backwards is elppa.", "47 + 35 = 82.", "The third word of "cat sun map" is
/// map."), never the instructions themselves. A base pre-trained on natural text mixed with it has the skills but has
/// never seen an instruction or a chat turn, as a pre-trained LLM has read arithmetic and spelling without being
/// asked to do them; instruction tuning then teaches following requests, which is the survey's account of what
/// instruction tuning does (it unlocks abilities pre-training gave). Held-out test instances are left out
/// (<see cref="SkillCorpusOptions.DecontaminateAgainst"/>), so held-out exact match still needs generalisation.
/// </summary>
public static class SkillCorpus
{
    /// <summary>How many times a draw that hits a decontaminated instance is repeated before that task is skipped for the statement.</summary>
    const int MaxRedraws = 50;

    /// <summary>
    /// Writes <see cref="SkillCorpusOptions.Statements"/> statements of randomly drawn tasks, instances and phrasings,
    /// grouped into paragraphs, leaving out the instances decontamination excludes (each such draw is counted in
    /// <see cref="SkillCorpusResult.Decontaminated"/>). Tasks without statements are skipped.
    /// </summary>
    /// <exception cref="InvalidInputException">Bad options, no task has statements, or nearly every draw is a test
    /// instance.</exception>
    public static SkillCorpusResult Generate(SkillCorpusOptions options)
    {
        options.Validate();
        var tasks = (options.Tasks ?? SyntheticTasks.All).Where(t => t.Statements.Count > 0).ToList();
        if (tasks.Count == 0) throw new InvalidInputException("skill corpus: no task has statements");
        var excluded = options.DecontaminateAgainst is { } suite ? TestOnlyInstances(suite) : new HashSet<string>();

        var random = new SplitMix64(options.Seed);
        var paragraphs = new List<IReadOnlyList<SkillStatement>>();
        var paragraph = new List<SkillStatement>();
        int target = Between(random, options.MinPerParagraph, options.MaxPerParagraph), decontaminated = 0, skippedInARow = 0;
        for (int written = 0; written < options.Statements;)
        {
            var task = tasks[(int)random.NextLong(tasks.Count)];
            IReadOnlyDictionary<string, string> slots;
            string instance;
            int tries = 0;
            do instance = task.InstanceKey(slots = task.Draw(random));
            while (excluded.Contains(instance) && ++tries < MaxRedraws);
            decontaminated += tries; // every draw counted here was a tested instance, left out
            if (tries == MaxRedraws) // a task whose every instance is tested on (never one of the built-in tasks)
            {
                if (++skippedInARow > 100 * tasks.Count) throw new InvalidInputException("skill corpus: nearly every instance the tasks draw is a test instance; nothing left to state");
                continue;
            }
            skippedInARow = 0;
            string text = task.RenderStatement((int)random.NextLong(task.Statements.Count), slots);
            paragraph.Add(new SkillStatement(task.Name, instance, text));
            written++;
            if (paragraph.Count == target || written == options.Statements)
            {
                paragraphs.Add(paragraph);
                paragraph = new List<SkillStatement>();
                target = Between(random, options.MinPerParagraph, options.MaxPerParagraph);
            }
        }
        return new SkillCorpusResult(paragraphs, decontaminated);
    }

    /// <summary>A paragraph as text: its statements separated by spaces.</summary>
    public static string Text(IReadOnlyList<SkillStatement> paragraph) => string.Join(' ', paragraph.Select(s => s.Text));

    /// <summary>
    /// The statement paragraphs spread evenly through <paramref name="paragraphs"/> of another corpus (each keeps its
    /// order), separated by blank lines — so every stretch of the mixture, the validation tail included, has both.
    /// </summary>
    public static string MixInto(IReadOnlyList<string> paragraphs, SkillCorpusResult skills)
    {
        var skillTexts = skills.Paragraphs.Select(Text).ToList();
        var mixed = new List<string>(paragraphs.Count + skillTexts.Count);
        int total = paragraphs.Count + skillTexts.Count, s = 0, p = 0;
        for (int i = 0; i < total; i++)
        {
            // Bresenham-style: take a skill paragraph whenever skills are behind their share of the first i + 1.
            bool takeSkill = p == paragraphs.Count || (s < skillTexts.Count && (long)(s + 1) * total <= (long)(i + 1) * skillTexts.Count);
            mixed.Add(takeSkill ? skillTexts[s++] : paragraphs[p++]);
        }
        return string.Join("\n\n", mixed) + "\n";
    }

    /// <summary>Paragraphs of a plain-text corpus: runs of lines separated by blank lines.</summary>
    public static IReadOnlyList<string> Paragraphs(string text) =>
        text.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Trim('\n')).Where(p => p.Length > 0).ToList();

    /// <summary>Instances the suite tests on that its training split does not hold in any phrasing.</summary>
    public static HashSet<string> TestOnlyInstances(SyntheticSuiteOptions suite)
    {
        var splits = SyntheticSuite.Build(suite);
        var trained = splits.Train.Select(e => e.Instance).ToHashSet(StringComparer.Ordinal);
        return splits.TestSeen.Concat(splits.TestHeldOutTemplates).Concat(splits.TestHeldOutTasks)
            .Select(e => e.Instance).Where(i => !trained.Contains(i)).ToHashSet(StringComparer.Ordinal);
    }

    static int Between(SplitMix64 random, int min, int max) => min + (int)random.NextLong(max - min + 1);
}
