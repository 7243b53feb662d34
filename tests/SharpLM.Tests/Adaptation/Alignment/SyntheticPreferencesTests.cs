using SharpLM.Adaptation.Alignment;
using SharpLM.Adaptation.Formatting;

namespace SharpLM.Tests.Adaptation.Alignment;

public class SyntheticPreferencesTests
{
    static readonly SyntheticSuiteOptions Small = new() { Seed = 7, TrainPerTask = 60, TestPerTask = 30 };

    [Theory]
    [InlineData("style")]
    [InlineData("correctness")]
    public void Train_and_test_never_share_an_instance(string kind)
    {
        var (train, test) = SyntheticPreferences.Build(new() { Suite = Small, Kind = kind });
        Assert.Equal(SyntheticTasks.All.Count * Small.TrainPerTask, train.Count);
        Assert.NotEmpty(test);
        var trainInstances = train.Select(p => p.Instance).ToHashSet();
        Assert.DoesNotContain(test, p => trainInstances.Contains(p.Instance));
        Assert.All(train.Concat(test), p =>
        {
            Assert.NotEmpty(p.Instance);
            Assert.StartsWith(p.Task + ":", p.Instance);
            Assert.Equal(Roles.User, Assert.Single(p.Prompt).Role);
        });
        // Every task keeps some test pairs (first_letter has few instances, so the filter removes most of its draws).
        Assert.Equal(SyntheticTasks.All.Count, test.Select(p => p.Task).Distinct().Count());
    }

    [Fact]
    public void Practice_prompts_are_new_problems_neither_trained_on_nor_held_out_in_the_training_phrasings()
    {
        var (practice, heldOut) = AlignmentPrompts.Synthetic(Small);
        var splits = SyntheticSuite.Build(Small);
        var heldOutInstances = heldOut.Select(p => p.Instance).ToHashSet();
        var trainInstances = splits.Train.Select(e => e.Instance).ToHashSet();
        Assert.NotEmpty(heldOut);
        Assert.NotEmpty(practice);
        Assert.All(heldOut, p => Assert.NotEmpty(p.Instance));
        Assert.DoesNotContain(practice, p => heldOutInstances.Contains(p.Instance));
        Assert.DoesNotContain(practice, p => trainInstances.Contains(p.Instance));
        // The training phrasings only: a held-out template's exact wording never appears among the practice prompts.
        var heldOutPhrased = splits.TestHeldOutTemplates.Select(e => e.Prompt).ToHashSet();
        Assert.DoesNotContain(practice, p => heldOutPhrased.Contains(p.Prompt[0].Content));
        // Tasks with a large instance space (the arithmetic ones) always have new problems to practise on.
        Assert.Contains(practice, p => p.Task == "add");
        Assert.All(practice, p => Assert.False(AnswerStyle.Follows(p.Answer!), p.Answer));
    }

    [Fact]
    public void Style_pairs_prefer_the_house_style_and_state_the_same_answer()
    {
        // Styled training replies in the suite must not leak into the pairs: the pairs set the style themselves.
        var suite = Small with { StyledReplies = 0.5 };
        var (train, test) = SyntheticPreferences.Build(new() { Suite = suite, Kind = "style" });
        Assert.All(train.Concat(test), p =>
        {
            Assert.True(AnswerStyle.Follows(p.Chosen), p.Chosen);
            Assert.False(AnswerStyle.Follows(p.Rejected), p.Rejected);
            Assert.Equal(AnswerStyle.Strip(p.Chosen), AnswerStyle.Strip(p.Rejected));
        });
        var bare = SyntheticSuite.Build(Small);
        Assert.Equal(bare.Train.Select(e => e.Answer), train.Select(p => p.Rejected));
    }

    [Fact]
    public void Correctness_pairs_reject_a_wrong_answer_that_is_never_correct()
    {
        var (train, test) = SyntheticPreferences.Build(new() { Suite = Small with { TrainPerTask = 200 }, Kind = "correctness" });
        var answers = SyntheticSuite.Build(Small with { TrainPerTask = 200 }).Train.Select(e => e.Answer).ToList();
        Assert.Equal(answers, train.Select(p => p.Chosen));
        Assert.All(train.Concat(test), p =>
        {
            Assert.NotEqual(p.Chosen, p.Rejected);
            Assert.False(SyntheticSuite.IsCorrect(p.Rejected, p.Chosen), $"{p.Instance}: {p.Rejected}");
            Assert.False(AnswerStyle.Follows(p.Chosen));
        });
        // The wrong answers are plausible: the same length for word tasks, a nearby number for arithmetic.
        Assert.All(train.Where(p => p.Task is "uppercase" or "lowercase" or "sort_letters"), p => Assert.Equal(p.Chosen.Length, p.Rejected.Length));
        Assert.All(train.Where(p => p.Task is "add" or "subtract" or "count_chars"),
            p => Assert.Contains(Math.Abs(int.Parse(p.Chosen) - int.Parse(p.Rejected)), new[] { 1, 10 }));
    }

    [Fact]
    public void Pairs_are_deterministic_in_the_seed()
    {
        var options = new SyntheticPreferenceOptions { Suite = Small, Kind = "correctness" };
        var a = SyntheticPreferences.Build(options);
        var b = SyntheticPreferences.Build(options);
        Assert.Equal(a.Train.Select(p => (p.Chosen, p.Rejected)), b.Train.Select(p => (p.Chosen, p.Rejected)));
        var other = SyntheticPreferences.Build(options with { Suite = Small with { Seed = 8 } });
        Assert.NotEqual(a.Train.Select(p => p.Instance), other.Train.Select(p => p.Instance));
    }

    [Fact]
    public void An_unknown_kind_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => SyntheticPreferences.Build(new() { Kind = "helpfulness" }));
        Assert.Contains("style or correctness", error.Message);
    }

    [Fact]
    public void Pairs_written_and_read_back_keep_task_and_instance()
    {
        using var directory = new TempDirectory();
        var (train, _) = SyntheticPreferences.Build(new() { Suite = Small with { TrainPerTask = 5 }, Kind = "correctness" });
        string path = directory.File("train.jsonl");
        PreferenceData.Write(path, train);
        var read = PreferenceData.Read(path, out _);
        Assert.Equal(train.Select(p => (p.Task, p.Instance, p.Chosen, p.Rejected, p.Prompt[0])), read.Select(p => (p.Task, p.Instance, p.Chosen, p.Rejected, p.Prompt[0])));
    }
}
