using System.Text.Json;
using SharpLM.Experiments;

namespace SharpLM.Tests.Experiments;

public class ArchitecturesExperimentTests
{
    [Fact]
    public void Three_architectures_and_the_component_grid_train_for_equal_steps_into_one_report()
    {
        using var dir = new TempDirectory();
        string input = dir.File("input.txt");
        File.WriteAllText(input, string.Concat(Enumerable.Repeat(TinyRuns.Corpus, 80)));
        var tiny = TinyRuns.Config();
        var experiment = new ArchitecturesExperiment
        {
            Data = input, OutDir = dir.File("out"), Steps = 12,
            Baseline = tiny with { Model = tiny.Model with { NLayer = 2, NHead = 2, NEmbd = 16 }, Training = tiny.Training with { EvalIters = 1 } },
        };
        var (architectures, components) = experiment.Run();

        Assert.Equal(ArchitecturesExperiment.ArchitectureNames, architectures.Select(r => r.Name));
        Assert.Equal(2 * 2 * 3, components.Count);
        Assert.All(architectures.Concat(components), r =>
        {
            Assert.Equal(12, r.Iters);
            Assert.True(r.ContinuationLoss is > 0 and < 10, $"{r.Name}: continuation loss {r.ContinuationLoss}");
            Assert.True(r.Curve[^1].ValLoss < r.Curve[0].ValLoss, $"{r.Name}: loss must fall");
        });
        Assert.Contains("transformer (encoder_decoder)", architectures.Select(r => r.Kind));
        // The encoder-decoder splits the depth between its stacks: about the size of the decoders, not twice it.
        Assert.True(architectures[2].Params < 1.5 * architectures[0].Params, $"{architectures[2].Params} vs {architectures[0].Params}");

        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("out"), ComparisonReport.JsonFile)));
        Assert.Equal(15, report.RootElement.GetProperty("results").GetArrayLength());
        string markdown = File.ReadAllText(Path.Combine(dir.File("out"), ComparisonReport.MarkdownFile));
        Assert.Contains("| rmsnorm | swiglu | rope |", markdown);
        Assert.Contains("| prefix_decoder |", markdown);
        foreach (string png in new[] { ArchitecturesExperiment.ArchitecturesPlot, ArchitecturesExperiment.ComponentsPlot })
            Assert.True(new FileInfo(Path.Combine(dir.File("out"), png)).Length > 1000);
    }
}
