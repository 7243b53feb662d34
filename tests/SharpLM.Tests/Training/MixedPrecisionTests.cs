using SharpLM.Checkpoints;
using SharpLM.Modeling;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Tests.Training;

public class MixedPrecisionTests
{
    [Fact]
    public void A_marked_linear_multiplies_in_bf16_and_returns_float32()
    {
        manual_seed(1);
        var linear = nn.Linear(64, 48);
        var x = randn(5, 64);
        var fp32 = LinearDeltas.Forward(linear, x);
        MixedPrecision.Apply(linear);
        Assert.True(MixedPrecision.IsApplied(linear));
        var mixed = LinearDeltas.Forward(linear, x);

        Assert.Equal(ScalarType.Float32, mixed.dtype);
        var expected = F.linear(x.to(ScalarType.BFloat16), linear.weight!.to(ScalarType.BFloat16), linear.bias!.to(ScalarType.BFloat16)).to(ScalarType.Float32);
        Assert.True(mixed.Equals(expected), $"the product is bf16's, bit for bit: {(mixed - expected).abs().max().item<float>()} vs fp32 {(expected - fp32).abs().max().item<float>()}");
        double relative = ((mixed - fp32).abs().max() / fp32.abs().max()).item<float>();
        Assert.InRange(relative, 1e-5, 2e-2); // rounded to bf16's 8 bits of mantissa, not more
        Assert.DoesNotContain(linear.state_dict().Keys, k => k.Contains("compute_precision")); // nothing new in checkpoints
    }

    [Fact]
    public void Bf16_mixed_training_keeps_float32_weights_and_tracks_the_fp32_losses()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        var fp32 = TinyRuns.Config(maxIters: 60, evalInterval: 20);
        var mixed = fp32 with { Training = fp32.Training with { Precision = "bf16-mixed" } };
        var a = new Trainer(fp32, data, dir.File("fp32")).Run(resume: false);
        var b = new Trainer(mixed, data, dir.File("mixed")).Run(resume: false);

        var (model, _) = Checkpoint.LoadModel(dir.File("mixed"), CPU);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        var (fpModel, _) = Checkpoint.LoadModel(dir.File("fp32"), CPU);
        Assert.False(model.parameters().Zip(fpModel.parameters()).All(p => p.First.Equals(p.Second)), "bf16 products change the trajectory");
        var (_, evalsA) = MetricsLog.Read(dir.File("fp32"));
        var (_, evalsB) = MetricsLog.Read(dir.File("mixed"));
        Assert.True(b.FinalValLoss < evalsB[0].ValLoss / 2, $"mixed precision learns: {evalsB[0].ValLoss} → {b.FinalValLoss}");
        Assert.True(Math.Abs(a.FinalValLoss - b.FinalValLoss) < 0.05, $"val loss fp32 {a.FinalValLoss} vs bf16-mixed {b.FinalValLoss}");
    }

    [Fact]
    public void Bf16_true_training_learns_in_bf16_writes_float32_checkpoints_and_resumes()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        var config = TinyRuns.Config(maxIters: 60, evalInterval: 20);
        config = config with { Training = config.Training with { Precision = "bf16-true" } };
        // Stop at step 40 through the cancellation token, then resume to 60: the checkpoint must load back into bf16.
        using var stop = new CancellationTokenSource();
        var observer = new StopAt(40, stop);
        Assert.Throws<OperationCanceledException>(() => new Trainer(config, data, dir.File("true"), observer).Run(resume: false, stop.Token));
        var (saved, manifest) = Checkpoint.LoadModel(dir.File("true"), CPU);
        Assert.Equal(40, manifest.Step);
        Assert.All(saved.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype)); // stored float32
        Assert.All(saved.parameters(), p => Assert.True(p.Equals(p.to(ScalarType.BFloat16).to(ScalarType.Float32)), "the values are bf16's"));
        var summary = new Trainer(config, data, dir.File("true")).Run(resume: true);
        var (_, evals) = MetricsLog.Read(dir.File("true"));
        Assert.Equal(60, summary.Iters);
        Assert.True(summary.FinalValLoss < evals[0].ValLoss / 2, $"bf16-true learns: {evals[0].ValLoss} → {summary.FinalValLoss}");
    }

    sealed class StopAt(int step, CancellationTokenSource stop) : ITrainingObserver
    {
        public void OnCheckpoint(int at, string directory)
        {
            if (at == step) stop.Cancel();
        }
    }

    [Fact]
    public void An_unknown_precision_is_refused_naming_the_field()
    {
        var config = TinyRuns.Config().Training with { Precision = "fp16" };
        var e = Assert.Throws<InvalidInputException>(() => config.Validate("run.json"));
        Assert.Contains("precision", e.Message);
        Assert.Contains("bf16-mixed", e.Message);
    }
}
