using System.Text.RegularExpressions;
using SharpLM.Adaptation.Formatting;

namespace SharpLM.Tests.Adaptation.Formatting;

public class SkillCorpusTests
{
    static readonly SkillCorpusOptions Small = new() { Statements = 3000 };

    [Fact]
    public void Every_statement_states_the_right_answer_and_is_never_an_instruction()
    {
        var tasks = SyntheticTasks.All.ToDictionary(t => t.Name);
        var result = SkillCorpus.Generate(Small);
        var statements = result.Paragraphs.SelectMany(p => p).ToList();
        Assert.Equal(Small.Statements, statements.Count);
        Assert.Equal(tasks.Keys.Order(), statements.Select(s => s.Task).Distinct().Order()); // every task is stated
        foreach (var s in statements)
        {
            var task = tasks[s.Task];
            // Read the slot values back out of the sentence through whichever statement fits, and re-solve.
            var fits = task.Statements.Select(t => Regex.Match(s.Text, "^" + Regex.Replace(Regex.Escape(t), @"\\\{(\w+)}", m => $"(?<{m.Groups[1].Value}>.+?)") + "$"))
                .Where(m => m.Success).ToList();
            Assert.True(fits.Count > 0, $"'{s.Text}' fits no statement of {s.Task}");
            var m = fits[0];
            var slots = m.Groups.Cast<Group>().Skip(1).Where(g => g.Name != "answer" && g.Success).ToDictionary(g => g.Name, g => g.Value);
            if (s.Task == "nth_word" && !slots.ContainsKey("n"))
                slots["n"] = (Array.IndexOf(new[] { "first", "second", "third", "fourth" }, slots["nth"]) + 1).ToString();
            if (s.Task == "nth_word" && !slots.ContainsKey("nth")) slots["nth"] = new[] { "first", "second", "third", "fourth" }[int.Parse(slots["n"]) - 1];
            Assert.Equal(task.Solve(slots), m.Groups["answer"].Value);
            Assert.Equal(task.InstanceKey(slots), s.Instance);
            Assert.DoesNotContain(s.Text, Enumerable.Range(0, task.Templates.Count).Select(t => task.Render(t, slots))); // a statement, not an instruction
        }
        Assert.All(result.Paragraphs, p => Assert.InRange(p.Count, 1, Small.MaxPerParagraph));
    }

    [Fact]
    public void No_statement_gives_away_an_instance_that_only_the_test_splits_hold()
    {
        var suite = new SyntheticSuiteOptions { Seed = 3 };
        var splits = SyntheticSuite.Build(suite);
        var trained = splits.Train.Select(e => e.Instance).ToHashSet();
        var testOnly = splits.TestSeen.Concat(splits.TestHeldOutTemplates).Select(e => e.Instance).Where(i => !trained.Contains(i)).ToHashSet();
        Assert.NotEmpty(testOnly); // arithmetic and sentences have far more instances than the training split
        Assert.Equal(testOnly, SkillCorpus.TestOnlyInstances(suite));

        var clean = SkillCorpus.Generate(Small with { DecontaminateAgainst = suite });
        Assert.True(clean.Decontaminated > 0);
        Assert.DoesNotContain(clean.Paragraphs.SelectMany(p => p), s => testOnly.Contains(s.Instance));
        // Without decontamination the same draws do state some of them, so the check above can fail.
        var raw = SkillCorpus.Generate(Small with { DecontaminateAgainst = null, Statements = 30_000 });
        Assert.Equal(0, raw.Decontaminated);
        Assert.Contains(raw.Paragraphs.SelectMany(p => p), s => testOnly.Contains(s.Instance));
    }

    [Fact]
    public void A_seed_reproduces_the_corpus_and_another_seed_changes_it()
    {
        string Text(SkillCorpusOptions o) => string.Join("\n\n", SkillCorpus.Generate(o).Paragraphs.Select(SkillCorpus.Text));
        Assert.Equal(Text(Small), Text(Small));
        Assert.NotEqual(Text(Small), Text(Small with { Seed = 8 }));
    }

    [Fact]
    public void Mixing_spreads_the_statements_evenly_and_keeps_every_paragraph_in_order()
    {
        var corpus = Enumerable.Range(0, 300).Select(i => $"Speaker {i}:\nline {i}").ToList();
        var skills = SkillCorpus.Generate(Small with { Statements = 500 });
        var parts = SkillCorpus.Paragraphs(SkillCorpus.MixInto(corpus, skills));
        Assert.Equal(corpus.Count + skills.Paragraphs.Count, parts.Count);
        Assert.Equal(corpus, parts.Where(p => p.StartsWith("Speaker", StringComparison.Ordinal)));
        Assert.Equal(skills.Paragraphs.Select(SkillCorpus.Text), parts.Where(p => !p.StartsWith("Speaker", StringComparison.Ordinal)));
        // Every tenth of the mixture holds its share of statements, to within one paragraph.
        double share = (double)skills.Paragraphs.Count / parts.Count;
        for (int k = 0; k < 10; k++)
        {
            var slice = parts.Skip(k * parts.Count / 10).Take(parts.Count / 10).ToList();
            Assert.InRange(slice.Count(p => !p.StartsWith("Speaker", StringComparison.Ordinal)), share * slice.Count - 1.5, share * slice.Count + 1.5);
        }
    }

    [Fact]
    public void Paragraphs_split_on_blank_lines_only()
    {
        Assert.Equal(new[] { "a\nb", "c" }, SkillCorpus.Paragraphs("a\nb\n\n\n\nc\n"));
        Assert.Equal(new[] { "x", "y" }, SkillCorpus.Paragraphs("x\r\n\r\ny"));
    }
}
