using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Adapter;
using SharpLM.Modeling;
using static SharpLM.Tests.Adaptation.Peft.PeftTestKit;

namespace SharpLM.Tests.Adaptation.Peft.Adapter;

public class AdapterTuningTests : PeftMethodContract
{
    static readonly AdapterOptions Options = new() { BottleneckSize = 8 };

    protected override PeftMethod Apply(Gpt model) => AdapterTuning.Apply(model, Options);

    protected override long ExpectedTrainable(ModelConfig c)
    {
        long d = c.NEmbd, m = Options.BottleneckSize;
        return c.NLayer * 2 * (d * m + m + m * d + d);
    }

    [Fact]
    public void Fresh_adapters_are_the_identity()
    {
        var model = Base();
        var (x, _) = Batch();
        var before = Logits(model, x);
        var method = AdapterTuning.Apply(model, Options);
        Assert.True(before.Equals(Logits(model, x)));
        Assert.Equal(2 * model.Config.NLayer * 4, method.TrainableParameters.Count);
        Assert.Contains(method.TrainableParameters, p => p.Name == "h.1.adapter_mlp.up.weight");
    }

    [Theory]
    [InlineData("post")]
    [InlineData("sandwich")]
    public void Adapters_work_with_every_norm_placement(string placement)
    {
        var config = Config() with { NormPlacement = placement };
        var method = AdapterTuning.Apply(Base(config: config), Options);
        var (losses, _) = Train(method);
        Assert.True(losses[^1] < losses[0]);
    }
}
