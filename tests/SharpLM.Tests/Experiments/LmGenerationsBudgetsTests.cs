using System.Text.Json;
using SharpLM.Experiments;
using SharpLM.Modeling;

namespace SharpLM.Tests.Experiments;

public class LmGenerationsBudgetsTests
{
    static BudgetPoint Point(double budget, double bits) => new(budget, budget, 10, bits);

    [Fact]
    public void A_model_overtakes_the_ngram_at_the_first_budget_from_which_it_stays_below()
    {
        Assert.Equal(200, LmGenerationsBudgets.OvertakesAt(new[] { Point(60, 2.5), Point(200, 2.0), Point(600, 1.8) }, reference: 2.1));
        Assert.Equal(60, LmGenerationsBudgets.OvertakesAt(new[] { Point(60, 2.0), Point(200, 1.9) }, reference: 2.1));
        // Below at 60 s but above again at 200 s: it has not overtaken before 600 s.
        Assert.Equal(600, LmGenerationsBudgets.OvertakesAt(new[] { Point(60, 2.0), Point(200, 2.2), Point(600, 1.9) }, reference: 2.1));
        Assert.Null(LmGenerationsBudgets.OvertakesAt(new[] { Point(60, 2.5), Point(200, 2.3) }, reference: 2.1));
    }

    [Fact]
    public void Every_neural_model_is_trained_at_every_budget_on_every_corpus_and_the_crossover_is_reported()
    {
        using var dir = new TempDirectory();
        string Corpus(string name, string text)
        {
            string path = dir.File(name + ".txt");
            File.WriteAllText(path, string.Join("\n", Enumerable.Range(0, 200).Select(i => $"{i % 7} {text}")));
            return path;
        }
        var training = TinyRuns.Config().Training with { MaxIters = 1_000_000, LrDecayIters = 1_000_000, EvalInterval = 50 };
        var tiny = TinyRuns.Config() with { Training = training };
        var sweep = new LmGenerationsBudgets
        {
            Corpora = new[] { new NamedCorpus("fox", Corpus("fox", TinyRuns.Corpus)), new NamedCorpus("lorem", Corpus("lorem", "lorem ipsum dolor sit amet, consectetur. ")) },
            OutDir = dir.File("out"), BudgetSeconds = new[] { 1.0, 2.5 },
            Models = new[]
            {
                new ComparedModel("ngram-3", tiny with { Model = new ModelConfig { Type = "ngram", NgramOrder = 3 } }),
                new ComparedModel("ngram-5", tiny with { Model = new ModelConfig { Type = "ngram", NgramOrder = 5 } }),
                new ComparedModel("transformer", tiny),
            },
        };
        var results = sweep.Run();

        Assert.Equal(new[] { "fox", "lorem" }, results.Select(r => r.Corpus));
        foreach (var corpus in results)
        {
            Assert.Equal("ngram-5", corpus.Reference);
            var model = Assert.Single(corpus.Models);
            Assert.Equal(new[] { 1.0, 2.5 }, model.Points.Select(p => p.BudgetSeconds));
            Assert.All(model.Points, p => Assert.InRange(p.TrainSeconds, 0.5 * p.BudgetSeconds, 1.5 * p.BudgetSeconds + 1));
            Assert.True(model.Points[1].Iters > model.Points[0].Iters, "a larger budget must take more steps");
            Assert.Equal(LmGenerationsBudgets.OvertakesAt(model.Points, corpus.ReferenceBitsPerCharacter), model.OvertakesAtSeconds);
            foreach (double b in sweep.BudgetSeconds)
                Assert.True(Directory.Exists(Path.Combine(dir.File("out"), corpus.Corpus, "runs", LmGenerationsBudgets.RunName("transformer", b))));
            Assert.True(new FileInfo(Path.Combine(dir.File("out"), corpus.Corpus, LmGenerationsBudgets.PlotFile)).Length > 1000);
        }
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("out"), ComparisonReport.JsonFile)));
        var corpora = report.RootElement.GetProperty("corpora");
        Assert.Equal(2, corpora.GetArrayLength());
        Assert.True(corpora[0].GetProperty("models")[0].TryGetProperty("overtakes_at_seconds", out _));
        string table = File.ReadAllText(Path.Combine(dir.File("out"), ComparisonReport.MarkdownFile));
        Assert.Contains("## fox", table);
        Assert.Contains("## lorem", table);
        Assert.Contains("overtakes ngram-5 at", table);
        Assert.Contains("| ngram-5 | ngram |", table);
    }

    [Fact]
    public void Budgets_that_are_not_ascending_are_refused()
    {
        using var dir = new TempDirectory();
        var sweep = new LmGenerationsBudgets { Corpora = new[] { new NamedCorpus("x", dir.File("x.txt")) }, OutDir = dir.File("out"), BudgetSeconds = new[] { 200.0, 60 } };
        Assert.Contains("--budgets", Assert.Throws<InvalidInputException>(() => sweep.Run()).Message);
    }
}
