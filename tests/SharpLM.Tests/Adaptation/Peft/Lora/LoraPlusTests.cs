using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Training;
using TorchSharp;
using TorchSharp.Modules;
using static SharpLM.Tests.Adaptation.Peft.PeftTestKit;
using static TorchSharp.torch;

namespace SharpLM.Tests.Adaptation.Peft.Lora;

public class LoraPlusTests
{
    [Fact]
    public void A_group_with_a_learning_rate_scale_steps_exactly_as_a_run_at_that_rate()
    {
        // Same parameters and gradients in two optimizers: group 1 scaled by 4 against a separate run at 4x the rate.
        Tensor Values(int seed) { manual_seed(seed); return randn(6); }
        var scaled = new[] { new Parameter(Values(1)), new Parameter(Values(2)) };
        var plain = new Parameter(Values(2));
        using var scaledModule = new Holder(scaled);
        using var plainModule = new Holder([plain]);
        using var a = ContiguousParameters.Create(scaledModule, new[] { new[] { scaled[0] }, new[] { scaled[1] } });
        using var b = ContiguousParameters.Create(plainModule, new[] { new[] { plain } });
        using var scaledOptimizer = new FlatAdamW(a, [0.1, 0.1], 0.9, 0.99, 1e-8, [1, 4]) { LearningRate = 1e-2 };
        using var plainOptimizer = new FlatAdamW(b, [0.1], 0.9, 0.99, 1e-8) { LearningRate = 4e-2 };
        for (int step = 0; step < 5; step++)
        {
            (scaled[0] * scaled[0]).sum().add((scaled[1] * scaled[1] * scaled[1]).sum()).backward();
            (plain * plain * plain).sum().backward();
            scaledOptimizer.Step();
            plainOptimizer.Step();
            a.ZeroGrad();
            b.ZeroGrad();
        }
        Assert.True(scaled[1].eq(plain).all().item<bool>(), "the scaled group differs from a run at the scaled rate");
        Assert.False(scaled[1].eq(Values(2)).all().item<bool>()); // it did move
    }

    [Fact]
    public void Lora_plus_steps_B_ratio_times_further_than_plain_lora_on_the_first_step()
    {
        // Adam's first step moves every element by lr·sign(grad) (up to eps), so B's first move shows the ratio exactly;
        // A gets no gradient on the first step (B = 0), so only B moves.
        float BMove(double ratio)
        {
            using var model = Base(seed: 4);
            var lora = LoraTuning.Apply(model, new LoraOptions { Rank = 2, TargetModules = ["attn.c_proj"], LoraPlusLrRatio = ratio });
            var bs = lora.TrainableParameters.Where(p => p.Name.EndsWith(".lora_B", StringComparison.Ordinal)).Select(p => p.Parameter).ToList();
            var examples = Enumerable.Range(0, 8).Select(i => SftExample.FromPromptResponse([1 + i % 5, 2], [3 + i % 5], endOfTurn: 11)).ToList();
            new SftTrainer(model, new SftOptions { MaxIters = 1, BatchSize = 2, LearningRate = 1e-3, WarmupIters = 0, Threads = 1 }, examples)
            {
                LearningRateScale = lora.LearningRateScale,
            }.Run();
            return bs.Max(b => b.abs().max().item<float>());
        }
        float plain = BMove(1), plus = BMove(16);
        Assert.Equal(1e-3, plain, 1e-6);
        Assert.Equal(16e-3, plus, 1e-5);
    }

    [Fact]
    public void Only_B_matrices_get_the_ratio()
    {
        using var model = Base();
        var lora = LoraTuning.Apply(model, new LoraOptions { LoraPlusLrRatio = 16, TargetModules = ["q", "v", "mlp.c_proj"] });
        foreach (var (name, _) in lora.TrainableParameters)
            Assert.Equal(name.EndsWith(".lora_B", StringComparison.Ordinal) ? 16 : 1, lora.LearningRateScale(name));
        Assert.Contains(lora.TrainableParameters, p => p.Name.EndsWith(".lora_A", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    public void A_ratio_that_is_not_positive_is_refused(double ratio)
    {
        var e = Assert.Throws<InvalidInputException>(() => new LoraOptions { LoraPlusLrRatio = ratio }.Validate());
        Assert.Contains("loraplus_lr_ratio", e.Message);
    }

    sealed class Holder : nn.Module
    {
        public Holder(IReadOnlyList<Parameter> parameters) : base(nameof(Holder))
        {
            for (int i = 0; i < parameters.Count; i++) register_parameter($"p{i}", parameters[i]);
        }
    }
}
