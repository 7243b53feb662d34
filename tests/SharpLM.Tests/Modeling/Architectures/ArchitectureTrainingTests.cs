using SharpLM.Modeling;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;
using SharpLM.Checkpoints;

namespace SharpLM.Tests.Modeling.Architectures;

public class ArchitectureTrainingTests
{
    [Theory]
    [InlineData("prefix_decoder", "rope")]
    [InlineData("encoder_decoder", "t5")]
    [InlineData("encoder_decoder", "learned")]
    public void Trainer_lowers_the_objective_on_two_threads_and_the_checkpoint_restores_the_architecture(string architecture, string positions)
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        var tiny = TinyRuns.Config(maxIters: 120, evalInterval: 60);
        var model = TinyRuns.Model() with
        {
            Architecture = architecture, PositionEncoding = positions, RelativeBuckets = 8, RelativeMaxDistance = 12,
            NEncoderLayer = architecture == "encoder_decoder" ? 1 : 0,
            // Denser corruption than T5's 0.15 gives the tiny run more targets per window (8 instead of 2).
            NoiseDensity = 0.5, MeanNoiseSpanLength = 2,
        };
        var config = tiny with { Model = model, Training = tiny.Training with { Threads = 2 } };
        var summary = new Trainer(config, data, dir.File("run")).Run(resume: false);
        var (_, evals) = MetricsLog.Read(dir.File("run"));
        Assert.Equal(new[] { 0, 60, 120 }, evals.Select(e => e.Step));
        Assert.True(evals[^1].ValLoss < 0.8 * evals[0].ValLoss, $"{architecture}: val loss {evals[0].ValLoss:F3} → {evals[^1].ValLoss:F3}");
        Assert.True(double.IsFinite(summary.FinalTrainLoss));

        var (loaded, manifest) = Checkpoint.LoadModel(dir.File("run"), CPU);
        Assert.Equal(architecture, loaded.Config.Architecture);
        Assert.Equal(model.NEncoderLayer, loaded.Config.NEncoderLayer);
        Assert.Equal(manifest.Model, loaded.Config);
        Assert.Equal(architecture == "encoder_decoder" ? typeof(SharpLM.Modeling.Architectures.EncoderDecoder) : typeof(SharpLM.Modeling.Architectures.PrefixDecoder), loaded.GetType());
    }

    [Theory]
    [InlineData("causal_decoder")]
    [InlineData("prefix_decoder")]
    [InlineData("encoder_decoder")]
    public void Saved_and_loaded_models_give_the_same_logits_and_losses(string architecture)
    {
        using var dir = new TempDirectory();
        torch.manual_seed(5);
        var config = TinyRuns.Model() with { Architecture = architecture, NoiseDensity = 0.25, MeanNoiseSpanLength = 2, NEncoderLayer = architecture == "encoder_decoder" ? 3 : 0 };
        using var model = LanguageModel.Create(config);
        model.eval();
        Checkpoint.Save(dir.Path, model, null, new CheckpointManifest { Step = 0, Model = config, ModelFile = "", ModelSha256 = "" });
        var (loaded, _) = Checkpoint.LoadModel(dir.Path, CPU);
        loaded.eval();
        Assert.Equal(config, loaded.Config);
        using var _ = no_grad();
        var idx = randint(0, 32, new long[] { 2, 16 });
        var targets = randint(0, 32, new long[] { 2, 16 });
        Assert.True(model.forward(idx).allclose(loaded.forward(idx), rtol: 0, atol: 0));
        Assert.Equal(model.Loss(idx, targets).item<float>(), loaded.Loss(idx, targets).item<float>());
        Assert.Equal(model.ContinuationLoss(idx, targets, 6).item<float>(), loaded.ContinuationLoss(idx, targets, 6).item<float>());
    }
}
