using System.Text.RegularExpressions;
using SharpLM.Adaptation.Formatting;
using SharpLM.Runtime;

namespace SharpLM.Tests.Adaptation.Formatting;

public class SyntheticSuiteTests
{
    // The answer recomputed independently from the slot values read back out of the prompt.
    static string Expected(string task, IReadOnlyDictionary<string, string> slots) => task switch
    {
        "reverse" => string.Concat(slots["word"].Reverse()),
        "sort_letters" => string.Concat(slots["word"].OrderBy(c => c)),
        "uppercase" => slots["word"].ToUpperInvariant(),
        "lowercase" => slots["word"].ToLowerInvariant(),
        "count_chars" => slots["word"].Length.ToString(),
        "first_letter" => slots["word"][..1],
        "add" => (int.Parse(slots["a"]) + int.Parse(slots["b"])).ToString(),
        "subtract" => (int.Parse(slots["a"]) - int.Parse(slots["b"])).ToString(),
        "nth_word" => slots["sentence"].Split(' ')[slots.TryGetValue("n", out var n) ? int.Parse(n) - 1
            : Array.IndexOf(new[] { "first", "second", "third", "fourth" }, slots["nth"])],
        _ => throw new ArgumentException(task),
    };

    static Dictionary<string, string> Slots(string template, string prompt)
    {
        string pattern = "^" + Regex.Replace(Regex.Escape(template), @"\\\{(\w+)}", m => $"(?<{m.Groups[1].Value}>.+?)") + "$";
        var match = Regex.Match(prompt, pattern);
        Assert.True(match.Success, $"'{prompt}' does not fit '{template}'");
        return match.Groups.Cast<Group>().Skip(1).ToDictionary(g => g.Name, g => g.Value);
    }

    [Fact]
    public void Every_answer_is_correct_for_every_task_and_template()
    {
        var random = new SplitMix64(5);
        foreach (var task in SyntheticTasks.All)
        {
            Assert.True(task.Templates.Count >= 4, $"{task.Name} has {task.Templates.Count} templates");
            for (int t = 0; t < task.Templates.Count; t++)
                for (int i = 0; i < 30; i++)
                {
                    var example = task.Sample(random, t);
                    Assert.Equal(Expected(task.Name, Slots(task.Templates[t], example.Prompt)), example.Answer);
                }
        }
    }

    [Fact]
    public void Some_answers_checked_by_hand()
    {
        Dictionary<string, string> Word(string w) => new() { ["word"] = w };
        Assert.Equal("nedrag", SyntheticTasks.Reverse.Solve(Word("garden")));
        Assert.Equal("aelnpt", SyntheticTasks.SortLetters.Solve(Word("planet")));
        Assert.Equal("CAT", SyntheticTasks.Uppercase.Solve(Word("cat")));
        Assert.Equal("zebra", SyntheticTasks.Lowercase.Solve(Word("ZEBRA")));
        Assert.Equal("6", SyntheticTasks.CountCharacters.Solve(Word("rabbit")));
        Assert.Equal("w", SyntheticTasks.FirstLetter.Solve(Word("wizard")));
        Assert.Equal("198", SyntheticTasks.Add.Solve(new Dictionary<string, string> { ["a"] = "99", ["b"] = "99" }));
        Assert.Equal("0", SyntheticTasks.Subtract.Solve(new Dictionary<string, string> { ["a"] = "7", ["b"] = "7" }));
        Assert.Equal("57", SyntheticTasks.Subtract.Solve(new Dictionary<string, string> { ["a"] = "64", ["b"] = "7" }));
        var sentence = new Dictionary<string, string> { ["sentence"] = "cat dog sun map", ["n"] = "3", ["nth"] = "third" };
        Assert.Equal("sun", SyntheticTasks.NthWord.Solve(sentence));
        Assert.Equal("Copy the third word of \"cat dog sun map\".", SyntheticTasks.NthWord.Render(1, sentence));
        Assert.Equal("12 + 30 =", SyntheticTasks.Add.Render(2, new Dictionary<string, string> { ["a"] = "12", ["b"] = "30" }));
    }

    [Fact]
    public void Held_out_templates_never_appear_in_training()
    {
        var splits = SyntheticSuite.Build(new SyntheticSuiteOptions { Seed = 11, TrainPerTask = 100, TestPerTask = 20, HeldOutTemplatesPerTask = 2 });
        Assert.All(splits.HeldOutTemplates.Values, held => Assert.Equal(2, held.Count));
        Assert.DoesNotContain(splits.Train, e => splits.HeldOutTemplates[e.Task].Contains(e.Template));
        Assert.All(splits.TestHeldOutTemplates, e => Assert.Contains(e.Template, splits.HeldOutTemplates[e.Task]));
        Assert.All(splits.TestSeen, e => Assert.DoesNotContain(e.Template, splits.HeldOutTemplates[e.Task]));
        // No training prompt is worded like a held-out phrasing.
        foreach (var task in SyntheticTasks.All)
        {
            var heldWordings = splits.HeldOutTemplates[task.Name].Select(t => task.Templates[t]).ToList();
            var trainPrompts = splits.Train.Where(e => e.Task == task.Name).Select(e => e.Prompt);
            Assert.DoesNotContain(trainPrompts, p => heldWordings.Any(w => Regex.IsMatch(p, "^" + Regex.Replace(Regex.Escape(w), @"\\\{\w+}", ".+?") + "$")));
        }
        Assert.Equal(9 * 100, splits.Train.Count);
        Assert.Equal(9 * 20, splits.TestHeldOutTemplates.Count);
        // Held-out phrasings differ between tasks and seeds (they are drawn, not fixed).
        var other = SyntheticSuite.Build(new SyntheticSuiteOptions { Seed = 12, TrainPerTask = 1, TestPerTask = 1, HeldOutTemplatesPerTask = 2 });
        Assert.NotEqual(splits.HeldOutTemplates.Values.SelectMany(v => v), other.HeldOutTemplates.Values.SelectMany(v => v));
    }

    [Fact]
    public void Held_out_tasks_never_appear_in_training()
    {
        var splits = SyntheticSuite.Build(new SyntheticSuiteOptions { Seed = 2, TrainPerTask = 50, TestPerTask = 10, HeldOutTasks = ["add", "nth_word"] });
        Assert.DoesNotContain(splits.Train, e => e.Task is "add" or "nth_word");
        Assert.DoesNotContain(splits.TestSeen, e => e.Task is "add" or "nth_word");
        Assert.Equal(["add", "nth_word"], splits.TestHeldOutTasks.Select(e => e.Task).Distinct().Order());
        Assert.Equal(20, splits.TestHeldOutTasks.Count);
        Assert.False(splits.HeldOutTemplates.ContainsKey("add"));
        Assert.Throws<ArgumentException>(() => SyntheticSuite.Build(new SyntheticSuiteOptions { HeldOutTasks = ["juggle"] }));
    }

    [Fact]
    public void The_same_seed_gives_the_same_suite_and_another_seed_another()
    {
        var options = new SyntheticSuiteOptions { Seed = 9, TrainPerTask = 30, TestPerTask = 10, HeldOutTasks = ["subtract"] };
        var a = SyntheticSuite.Build(options);
        var b = SyntheticSuite.Build(options);
        Assert.Equal(a.Train, b.Train);
        Assert.Equal(a.TestSeen, b.TestSeen);
        Assert.Equal(a.TestHeldOutTemplates, b.TestHeldOutTemplates);
        Assert.Equal(a.TestHeldOutTasks, b.TestHeldOutTasks);
        Assert.NotEqual(a.Train, SyntheticSuite.Build(options with { Seed = 10 }).Train);
    }

    [Fact]
    public void Prompts_and_answers_are_short_printable_ascii_and_seen_tests_avoid_training_prompts()
    {
        var splits = SyntheticSuite.Build(new SyntheticSuiteOptions { Seed = 4 });
        var all = splits.Train.Concat(splits.TestSeen).Concat(splits.TestHeldOutTemplates).ToList();
        Assert.All(all, e => Assert.True(e.Prompt.All(c => c is >= ' ' and <= '~') && e.Answer.All(c => c is >= ' ' and <= '~'), e.Prompt));
        Assert.True(all.Max(e => e.Prompt.Length) <= 56, $"longest prompt {all.Max(e => e.Prompt.Length)}");
        Assert.True(all.Max(e => e.Answer.Length) <= 8);
        var train = splits.Train.Select(e => e.Prompt).ToHashSet();
        foreach (string task in new[] { "reverse", "add", "nth_word" })
            Assert.DoesNotContain(splits.TestSeen.Where(e => e.Task == task), e => train.Contains(e.Prompt));
    }

    [Fact]
    public void Exact_match_scoring_trims_and_is_case_sensitive()
    {
        Assert.True(SyntheticSuite.IsCorrect(" olleh \n", "olleh"));
        Assert.False(SyntheticSuite.IsCorrect("Olleh", "olleh"));
        Assert.False(SyntheticSuite.IsCorrect("olleh.", "olleh"));
        var examples = new[] { new SyntheticExample("add", 0, "1 + 1 =", "2"), new SyntheticExample("add", 0, "2 + 2 =", "4"), new SyntheticExample("reverse", 0, "Reverse: ab", "ba") };
        var accuracy = SyntheticSuite.Accuracy(examples, ["2", "5", " ba"]);
        Assert.Equal(0.5, accuracy["add"]);
        Assert.Equal(1.0, accuracy["reverse"]);
        Assert.Equal(2.0 / 3, accuracy["all"], 12);
    }
}
