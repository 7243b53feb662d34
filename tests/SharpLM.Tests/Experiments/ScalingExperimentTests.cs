using System.Text.Json;
using SharpLM.Experiments.Scaling;
using SharpLM.Modeling;
using SharpLM.Training;
using SharpLM.Training.Planning;

namespace SharpLM.Tests.Experiments;

public class ScalingExperimentTests
{
    static ScalingExperiment Tiny(string input, string outDir, double minutes = 20) => new()
    {
        Data = input, OutDir = outDir, Minutes = minutes, Seed = 5, Widths = new[] { 8, 16, 32 }, BudgetSteps = new[] { 15, 45 },
        Baseline = TinyRuns.Config(), EvalTokens = 256, CalibrationSteps = 12,
    };

    static string Corpus(TempDirectory dir)
    {
        string input = dir.File("input.txt");
        File.WriteAllText(input, string.Join("\n", Enumerable.Range(0, 200).Select(i => $"line {i % 13}: {TinyRuns.Corpus}")));
        return input;
    }

    [Fact]
    public void Tiny_grid_writes_results_table_and_plots_and_a_rerun_skips_every_finished_run()
    {
        using var dir = new TempDirectory();
        string input = Corpus(dir), outDir = dir.File("out");
        var first = Tiny(input, outDir).Run();

        Assert.Equal(6, first.Runs.Count);
        Assert.All(first.Runs, r => Assert.False(r.Resumed));
        Assert.Equal(new long[] { 15 * 64, 45 * 64 }, first.Runs.Select(r => r.Tokens).Distinct().Order());
        Assert.All(first.Runs, r => Assert.Equal(6.0 * r.NonEmbeddingParams * r.Tokens, r.Flops));
        Assert.Contains(first.Runs, r => r.OnFrontier);
        Assert.Equal(4.0 * first.Runs.Max(r => r.Flops), first.Prediction.Flops, 6);
        var predictionRun = Assert.IsType<ScalingRun>(first.Prediction.Run);
        Assert.Null(first.Prediction.NotTrained);
        Assert.Equal(predictionRun.FinalValLoss - first.Prediction.PredictedLoss, first.Prediction.Miss!.Value, 12);
        Assert.True(double.IsFinite(first.Chinchilla.RSquared) && double.IsFinite(first.Kaplan.RSquared));

        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, ScalingExperiment.ResultsJson))))
        {
            Assert.Equal(6, json.RootElement.GetProperty("runs").GetArrayLength());
            Assert.True(json.RootElement.GetProperty("chinchilla").GetProperty("r_squared").GetDouble() <= 1);
            Assert.True(json.RootElement.GetProperty("prediction").TryGetProperty("measured_loss", out _));
        }
        string table = File.ReadAllText(Path.Combine(outDir, ScalingExperiment.ResultsMarkdown));
        foreach (var r in first.Runs.Append(predictionRun)) Assert.Contains($"| {r.Name} |", table);
        Assert.Contains("R²", table);
        foreach (string png in new[] { ScalingExperiment.LossVsParametersPlot, ScalingExperiment.FrontierPlot, ScalingExperiment.IsoFlopPlot })
            Assert.True(new FileInfo(Path.Combine(outDir, png)).Length > 1000, png);

        // A re-run (as after a kill) trains nothing: every run directory already holds its summary.json.
        var rerun = Tiny(input, outDir);
        var second = rerun.Run();
        Assert.All(second.Runs.Append(second.Prediction.Run!), r => Assert.True(r.Resumed, $"{r.Name} was trained again"));
        Assert.Equal(first.Runs.Select(r => r.FinalValLoss), second.Runs.Select(r => r.FinalValLoss));
        Assert.Equal(first.Prediction.MeasuredLoss, second.Prediction.MeasuredLoss);
    }

    [Fact]
    public void Resuming_with_other_options_is_refused_naming_the_plan()
    {
        using var dir = new TempDirectory();
        string input = Corpus(dir), outDir = dir.File("out");
        Directory.CreateDirectory(outDir);
        var plan = new ScalingPlan
        {
            Options = new ScalingOptions(20, 5, new[] { 8, 16 }, 2, 3, new[] { 15, 45 }, 256, 4, "{}"),
            TokensPerStep = 64, Calibration = Array.Empty<SizeCalibration>(), BudgetSteps = new[] { 15, 45 },
        };
        File.WriteAllText(Path.Combine(outDir, ScalingExperiment.PlanFile), JsonSerializer.Serialize(plan, SharpLM.Runtime.Json.Options));
        var e = Assert.Throws<InvalidInputException>(() => Tiny(input, outDir).Run());
        Assert.Contains(ScalingExperiment.PlanFile, e.Message);
        Assert.Contains("other options", e.Message);
    }

    [Fact]
    public void A_budget_that_cannot_fit_the_minutes_is_refused_before_training()
    {
        using var dir = new TempDirectory();
        string input = Corpus(dir);
        var experiment = Tiny(input, dir.File("out"), minutes: 0.01);
        var e = Assert.Throws<InvalidInputException>(() => experiment.Run());
        Assert.Contains("--minutes", e.Message);
        Assert.False(Directory.Exists(Path.Combine(dir.File("out"), "runs")));
    }

    [Fact]
    public void Non_embedding_parameters_leave_out_the_token_and_position_tables()
    {
        var config = new ModelConfig { VocabSize = 65, BlockSize = 64, NLayer = 4, NHead = 4, NEmbd = 128 };
        using var model = LanguageModel.Create(config);
        long expected = model.ParameterCount - 65 * 128 - 64 * 128;
        Assert.Equal(expected, ScalingExperiment.NonEmbeddingParameters(config));
        Assert.Equal(4 * (12 * 128 * 128 + 13 * 128) + 2 * 128, expected); // Kaplan's 12·L·d² plus biases and norms
    }
}
