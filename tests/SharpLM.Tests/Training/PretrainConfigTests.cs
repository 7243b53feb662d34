using SharpLM.Training;

namespace SharpLM.Tests.Training;

public class PretrainConfigTests
{
    [Fact]
    public void Shakespeare_char_preset_is_nanoGPTs_baby_config()
    {
        var c = PretrainConfig.Preset("shakespeare-char");
        Assert.Equal((4, 4, 128, 64, 0.0), (c.Model.NLayer, c.Model.NHead, c.Model.NEmbd, c.Model.BlockSize, c.Model.Dropout));
        Assert.Equal((12, 2000, 1e-3, 1e-4, 100, 2000), (c.Training.BatchSize, c.Training.MaxIters, c.Training.LearningRate, c.Training.MinLr, c.Training.WarmupIters, c.Training.LrDecayIters));
        Assert.Equal((0.9, 0.99, 0.1, 1.0, 250, 20), (c.Training.Beta1, c.Training.Beta2, c.Training.WeightDecay, c.Training.GradClip, c.Training.EvalInterval, c.Training.EvalIters));
        Assert.Equal("char", c.Tokenizer);
    }

    [Fact]
    public void Overrides_accept_bare_qualified_and_kebab_keys()
    {
        var c = PretrainConfig.Preset("shakespeare-char").WithOverrides(new Dictionary<string, string>
        {
            ["n_layer"] = "2", ["model.dropout"] = "0.1", ["max-iters"] = "50", ["device"] = "cpu",
        });
        Assert.Equal(2, c.Model.NLayer);
        Assert.Equal(0.1, c.Model.Dropout);
        Assert.Equal(50, c.Training.MaxIters);
    }

    [Fact]
    public void Unknown_key_and_invalid_value_are_named()
    {
        var preset = PretrainConfig.Preset("shakespeare-char");
        Assert.Contains("--n_layers", Assert.Throws<InvalidInputException>(() => preset.WithOverrides(new Dictionary<string, string> { ["n_layers"] = "2" })).Message);
        Assert.Contains("n_head", Assert.Throws<InvalidInputException>(() => preset.WithOverrides(new Dictionary<string, string> { ["n_head"] = "3" })).Message);
        Assert.Throws<InvalidInputException>(() => preset.WithOverrides(new Dictionary<string, string> { ["n_layer"] = "many" }));
        Assert.Contains("not found", Assert.Throws<InvalidInputException>(() => PretrainConfig.Preset("nope")).Message);
    }
}
