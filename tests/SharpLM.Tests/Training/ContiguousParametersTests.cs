using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Tests.Training;

public class ContiguousParametersTests
{
    [Fact]
    public void Groups_start_on_64_value_boundaries_and_the_buffer_splits_into_whole_norm_blocks_per_shard()
    {
        var model = SharpLM.Modeling.LanguageModel.Create(TinyRuns.Model());
        var (decay, noDecay) = WeightDecayGroups.Split(model);
        using var parameters = ContiguousParameters.Create(model, new[] { decay, noDecay }, shards: 3);
        Assert.Equal(model.ParameterCount, parameters.Count);
        Assert.All(parameters.Groups, g => Assert.Equal(0, g.Offset % ContiguousParameters.Alignment));
        Assert.Equal(0, parameters.Data.numel() % (3 * ContiguousParameters.NormBlock));
        // Between and after the groups the buffer holds zeros, which no norm or update can change.
        using var inside = zeros(parameters.Data.numel(), ScalarType.Bool);
        foreach (var (offset, length) in parameters.Groups) inside.narrow(0, offset, length).fill_(true);
        Assert.Equal(0f, parameters.Data.masked_select(inside.logical_not()).abs().sum().item<float>());
    }

    [Fact]
    public void The_fixed_order_gradient_norm_equals_the_exact_norm_and_does_not_depend_on_how_the_blocks_are_split()
    {
        var values = randn(5000) * 3;
        double exact = Math.Sqrt(values.to(ScalarType.Float64).square().sum().item<double>());
        double whole = ContiguousParameters.GradientNormSquared(values, 0, 5000);
        Assert.Equal(exact, Math.Sqrt(whole), 1e-9 * exact);
        // Two holders of whole blocks (ZeRO-2 ranks) compute the same per-block sums as one holder of all.
        var all = new double[5];
        var halves = new double[5];
        ContiguousParameters.BlockSquares(values, 0, 5000, all);
        var second = values.narrow(0, 2048, 2952).clone(); // another buffer, another alignment
        ContiguousParameters.BlockSquares(values, 0, 2048, halves.AsSpan(0, 2));
        ContiguousParameters.BlockSquares(second, 0, 2952, halves.AsSpan(2, 3));
        Assert.Equal(all, halves);
    }
}
