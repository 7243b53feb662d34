using System.Text.Json;
using SharpLM.Experiments;
using SharpLM.Experiments.Utilization;
using SharpLM.Runtime;
using static SharpLM.Experiments.Utilization.UtilizationTasks;

namespace SharpLM.Tests.Experiments;

public class UtilizationExperimentTests
{
    [Fact]
    public void Mapping_episodes_are_readable_only_from_their_demonstrations_and_test_mappings_are_new()
    {
        var (text, seen) = MappingCorpus(200, 5);
        var first = text.Split('\n')[0].Split(',');
        Assert.InRange(first.Length, 12, 20);
        // Within an episode an input always maps to the same output.
        Assert.All(first.GroupBy(p => p[0]), g => Assert.Single(g.Select(p => p[1]).Distinct()));
        var tests = MappingTests(50, 6, seen);
        Assert.All(tests, t => Assert.DoesNotContain(t.Function.Outputs, seen));
        var item = tests[0];
        Assert.Equal($"\n{item.Order[0]}{item.Function.Apply(item.Order[0])},{item.Query}", MappingPrompt(item.Function, item.Order[..1], item.Query));
        Assert.Equal($"\n{item.Query}", MappingPrompt(item.Function, [], item.Query));
    }

    [Fact]
    public void Chains_keep_the_last_digit_at_each_step_write_each_step_under_its_operation_and_held_out_problems_are_not_in_training()
    {
        var chain = new Chain(3, [('+', 4), ('*', 3), ('-', 5), ('+', 8)]);
        Assert.Equal([3, 7, 1, 6, 4], chain.Values());
        Assert.Equal("Q: 3 +4 *3 -5 +8", chain.Question);
        Assert.Equal(" 3 =7 =1 =6 =4. The answer is 4.", chain.Rationale);
        // The scratchpad lines up with the question: step i sits where operation i does, three characters each.
        string question = chain.Question["Q:".Length..], steps = chain.Rationale[..question.Length];
        for (int i = 0; i < 4; i++) Assert.Equal($" ={chain.Values()[i + 1]}", steps.Substring(2 + 3 * i, 3));
        var (items, seen) = ChainCorpus(500, 0.5, 9);
        string text = string.Concat(items);
        Assert.All(items, i => Assert.Matches(@"^Q: [^\n]*\nA: [^\n]*\n$", i));
        Assert.All(seen, q => Assert.Equal(ChainSteps, q.Count(c => c is '+' or '-' or '*')));
        Assert.Contains(CotTrigger, text);
        Assert.Contains(DirectTrigger + " ", text);
        var tests = ChainTests(40, 5, 10, seen);
        Assert.All(tests, t => Assert.DoesNotContain(t.Question, seen));
        Assert.All(tests, t => Assert.Equal(5, t.Steps.Count));
        Assert.Equal(40, tests.Select(t => t.Question).Distinct().Count());
    }

    [Fact]
    public void Arithmetic_is_exact_and_the_test_problems_have_more_digits_than_training()
    {
        Assert.Equal("-2716", new Arithmetic(1234, '-', 3950).Answer);
        Assert.Equal("7006652", new Arithmetic(1234, '*', 5678).Answer);
        Assert.Equal("What is 12+3?", new Arithmetic(12, '+', 3).Question);
        Assert.All(Enumerable.Range(0, QuestionForms.Length), f => Assert.Contains("12+3", new Arithmetic(12, '+', 3).Ask(f)));
        var random = new SplitMix64(1);
        Assert.All(Enumerable.Range(0, 200).Select(_ => TrainingArithmetic(random)), p => Assert.True(p.A < 1000 && p.B < 1000));
        Assert.All(LongArithmetic(100, 2), p => Assert.True(p.A >= 1000));
    }

    [Fact]
    public void Towns_have_distinct_names_and_their_facts_only_in_their_documents()
    {
        var train = Towns(100, 1);
        var test = Towns(50, 2, train.Select(t => t.Name).ToHashSet());
        Assert.Equal(150, train.Concat(test).Select(t => t.Name.ToLowerInvariant()).Distinct().Count());
        var town = test[0];
        Assert.All(town.Facts(), f => Assert.EndsWith($" = {f.Answer}.", f.Text));
        Assert.All(town.Facts(), f => Assert.Contains(town.Name, f.Question));
        Assert.Equal(3, town.Facts().Select(f => f.FileName).Distinct().Count());
    }

    [Fact]
    public void A_tiny_run_writes_the_report_with_every_claim_and_the_plots()
    {
        using var dir = new TempDirectory();
        var report = new UtilizationExperiment { OutDir = dir.Path, StepScale = 0.001, TestItems = 3, SelfConsistencyItems = 2, Only = ["icl", "tools"] }.Run();
        Assert.Equal(["ICL on new functions", "Calculator tool (longer problems)"], report.Claims.Select(c => c.Name));
        Assert.Equal(UtilizationExperiment.Shots, report.Icl!.Curve.Select(p => p.K));
        Assert.Equal(["random", "bm25", "embedding"], report.Icl.Selection.Keys);
        Assert.Equal(10, report.Tools!.Training.Iters); // the floor on steps
        var json = JsonDocument.Parse(File.ReadAllText(dir.File(ComparisonReport.JsonFile))).RootElement;
        Assert.Equal("utilization", json.GetProperty("experiment").GetString());
        Assert.Equal(2, json.GetProperty("claims").GetArrayLength());
        Assert.Contains("| ICL on new functions | k = 0 |", File.ReadAllText(dir.File(ComparisonReport.MarkdownFile)));
        Assert.True(File.Exists(dir.File(UtilizationExperiment.IclPlot)) && File.Exists(dir.File(UtilizationExperiment.ClaimsPlot)));
        Assert.Throws<InvalidInputException>(() => new UtilizationExperiment { OutDir = dir.Path, Only = ["telepathy"] }.Run());
    }
}
