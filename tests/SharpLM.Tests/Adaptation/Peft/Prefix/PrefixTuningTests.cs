using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Prefix;
using SharpLM.Modeling;
using static SharpLM.Tests.Adaptation.Peft.PeftTestKit;
using static TorchSharp.torch;

namespace SharpLM.Tests.Adaptation.Peft.Prefix;

/// <summary>Prefix tuning trained with the MLP re-parameterisation (the contract), and its plain form.</summary>
public class PrefixTuningTests : PeftMethodContract
{
    static readonly PrefixOptions Options = new() { Length = 4, HiddenSize = 24 };

    protected override PeftMethod Apply(Gpt model) => PrefixTuning.Apply(model, Options);

    protected override long ExpectedTrainable(ModelConfig c)
    {
        long p = Options.Length, d = c.NEmbd, hidden = Options.HiddenSize, kv = (long)c.NLayer * 2 * c.KvHeads * c.HeadDim;
        return p * d + d * hidden + hidden + hidden * kv + kv;
    }

    [Fact]
    public void Collapsing_the_reparameterisation_keeps_the_logits_and_leaves_plain_prefixes()
    {
        var method = PrefixTuning.Apply(Base(config: Config("rope", kvHeads: 1)), Options);
        Train(method, steps: 3);
        var (x, _) = Batch();
        var before = Logits(method.Model, x);
        method.Collapse();
        Assert.False(method.Options.Reparameterize);
        var c = method.Model.Config;
        Assert.Equal(new[] { "prefix_tuning.prefix" }, method.TrainableParameters.Select(p => p.Name));
        Assert.Equal((long)c.NLayer * 2 * c.KvHeads * Options.Length * c.HeadDim, method.TrainableParameterCount);
        Assert.True(MaxAbsDiff(before, Logits(method.Model, x)) <= 1e-6);
    }

    [Fact]
    public void Plain_prefixes_train_and_every_query_sees_them()
    {
        var model = Base();
        var (x, _) = Batch();
        var baseLogits = Logits(model, x);
        var method = PrefixTuning.Apply(model, Options with { Reparameterize = false });
        // Position 0 sees only itself in the base; with a prefix it also sees the prefix.
        Assert.True(MaxAbsDiff(baseLogits[.., 0], Logits(model, x)[.., 0]) > 1e-6);
        var (losses, _) = Train(method);
        Assert.True(losses[^1] < losses[0]);
    }

    [Fact]
    public void The_prefix_takes_no_room_in_the_context()
    {
        var model = Base();
        PrefixTuning.Apply(model, Options);
        Assert.Equal(model.Config.BlockSize, model.ContextLength);
        using var _ = no_grad();
        Assert.Equal(new long[] { 1, 16, Vocab }, model.forward(zeros(1, 16, dtype: ScalarType.Int64)).shape);
    }
}
