using System.Text.Json;
using SharpLM.Experiments;
using SharpLM.Modeling;
using SharpLM.Training;

namespace SharpLM.Tests.Experiments;

public class LmGenerationsExperimentTests
{
    [Fact]
    public void Default_models_are_the_four_generations_at_comparable_size()
    {
        var models = LmGenerationsExperiment.DefaultModels(1);
        Assert.Equal(new[] { "ngram-3", "ngram-5", "lstm", "gru", "transformer" }, models.Select(m => m.Name));
        var sizes = models.Where(m => m.Config.Model.Type != "ngram").Select(m =>
        {
            using var model = LanguageModel.Create(m.Config.Model with { VocabSize = 65 });
            return model.ParameterCount;
        }).ToList();
        Assert.True(sizes.Max() < 1.15 * sizes.Min(), $"sizes {string.Join(", ", sizes)} are not comparable");
    }

    [Fact]
    public void Every_model_gets_its_share_of_the_budget_and_the_report_has_every_figure()
    {
        using var dir = new TempDirectory();
        string input = dir.File("input.txt");
        File.WriteAllText(input, string.Join("\n", Enumerable.Range(0, 300).Select(i => $"line {i % 11}: {TinyRuns.Corpus}")));
        var training = TinyRuns.Config().Training with { MaxIters = 1_000_000, LrDecayIters = 1_000_000, EvalInterval = 20 };
        var tiny = TinyRuns.Config() with { Training = training };
        var experiment = new LmGenerationsExperiment
        {
            Data = input, OutDir = dir.File("out"), BudgetSeconds = 20, OverheadSeconds = 2,
            Models = new[]
            {
                new ComparedModel("ngram-3", tiny with { Model = new ModelConfig { Type = "ngram", NgramOrder = 3 } }),
                new ComparedModel("gru", tiny with { Model = new ModelConfig { Type = "gru", BlockSize = 16, NLayer = 1, NEmbd = 32 } }),
                new ComparedModel("transformer", tiny),
            },
        };
        var results = experiment.Run();
        Assert.Equal(3, results.Count);
        foreach (var r in results.Where(r => r.Kind != "ngram"))
        {
            Assert.True(r.TrainSeconds >= 5, $"{r.Name} trained {r.TrainSeconds} s of its ~8 s share");
            Assert.True(r.Curve.Count >= 2 && r.Curve[^1].ValLoss < r.Curve[0].ValLoss, $"{r.Name}: loss must fall");
        }
        Assert.All(results, r => Assert.True(r.ValBitsPerCharacter is > 0 and < 8));
        Assert.All(results, r => Assert.Equal(Math.Pow(2, r.ValBitsPerCharacter!.Value), r.ValPerplexity!.Value, 9));

        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("out"), ComparisonReport.JsonFile)));
        Assert.Equal(3, report.RootElement.GetProperty("results").GetArrayLength());
        Assert.True(report.RootElement.TryGetProperty("ordering_holds", out _));
        Assert.Contains("| gru | gru |", File.ReadAllText(Path.Combine(dir.File("out"), ComparisonReport.MarkdownFile)));
        Assert.True(new FileInfo(Path.Combine(dir.File("out"), LmGenerationsExperiment.PlotFile)).Length > 1000);
    }
}
