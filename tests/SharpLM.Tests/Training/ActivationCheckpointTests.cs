using SharpLM.Modeling;
using SharpLM.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Tests.Training;

public class ActivationCheckpointTests
{
    static Dictionary<string, Tensor> Gradients(bool checkpointing)
    {
        manual_seed(5);
        var model = new Gpt(TinyRuns.Model(32) with { NLayer = 3 }) { ActivationCheckpointing = checkpointing };
        model.train();
        manual_seed(6);
        var x = randint(0, 32, new long[] { 3, 16 });
        var y = randint(0, 32, new long[] { 3, 16 });
        var logits = model.forward(x);
        F.cross_entropy(logits.view(-1, 32), y.view(-1)).backward();
        return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
    }

    [Fact]
    public void Recomputed_blocks_give_the_gradients_of_stored_activations_bit_for_bit()
    {
        var stored = Gradients(checkpointing: false);
        long before = Interlocked.Read(ref ActivationCheckpoint.Recomputations);
        var recomputed = Gradients(checkpointing: true);
        Assert.True(Interlocked.Read(ref ActivationCheckpoint.Recomputations) - before >= 3, "each of the 3 blocks was recomputed in backward");
        Assert.Equal(stored.Keys, recomputed.Keys);
        Assert.All(stored, p => Assert.True(p.Value.Equals(recomputed[p.Key]), $"{p.Key} differs"));
        Assert.Contains(stored, p => p.Key.StartsWith("h.0.", StringComparison.Ordinal) && p.Value.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Checkpointing_with_dropout_is_refused_naming_both_fields()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        var config = TinyRuns.Config(maxIters: 2);
        config = config with { Model = config.Model with { Dropout = 0.1 }, Training = config.Training with { ActivationCheckpointing = true } };
        var e = Assert.Throws<InvalidInputException>(() => new Trainer(config, data, dir.File("run")).Run(resume: false));
        Assert.Contains("activation_checkpointing", e.Message);
        Assert.Contains("dropout", e.Message);
    }

    [Fact]
    public void A_checkpointed_run_trains_to_the_same_weights()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        var plain = TinyRuns.Config(maxIters: 12, evalInterval: 6);
        var checkpointed = plain with { Training = plain.Training with { ActivationCheckpointing = true } };
        var a = new Trainer(plain, data, dir.File("plain")).Run(resume: false);
        var b = new Trainer(checkpointed, data, dir.File("checkpointed")).Run(resume: false);
        Assert.Equal(a.FinalValLoss, b.FinalValLoss);
        var (ma, _) = SharpLM.Checkpoints.Checkpoint.LoadModel(dir.File("plain"), CPU);
        var (mb, _) = SharpLM.Checkpoints.Checkpoint.LoadModel(dir.File("checkpointed"), CPU);
        foreach (var ((name, pa), (_, pb)) in ma.named_parameters().Zip(mb.named_parameters()))
            Assert.True(pa.Equals(pb), $"{name} differs");
    }
}
