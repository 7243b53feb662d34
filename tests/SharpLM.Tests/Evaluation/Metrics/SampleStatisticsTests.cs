using SharpLM.Evaluation.Metrics;

namespace SharpLM.Tests.Evaluation.Metrics;

public class SampleStatisticsTests
{
    [Fact]
    public void Stderr_is_the_sample_standard_deviation_over_root_n()
    {
        // Mean 0.75; squared deviations 3·0.0625 + 0.5625 = 0.75; sample variance 0.25; sd 0.5; / √4.
        var result = SampleStatistics.MeanWithStderr([1.0, 0.0, 1.0, 1.0]);
        Assert.Equal(0.75, result.Mean, 15);
        Assert.Equal(0.25, result.Stderr, 15);
    }

    [Fact]
    public void One_value_has_no_standard_error() => Assert.True(double.IsNaN(SampleStatistics.MeanWithStderr([3.0]).Stderr));

    [Fact]
    public void Bootstrap_of_the_mean_agrees_with_the_closed_form()
    {
        double[] values = Enumerable.Range(0, 100).Select(i => (double)i).ToArray();
        double bootstrap = SampleStatistics.BootstrapStderr(values.Length, idx => idx.Average(i => values[i]));
        // The closed form is 2.901; the bootstrap estimates it without Bessel's correction (2.887), ±~2% noise.
        Assert.InRange(bootstrap, 0.9 * 2.901, 1.1 * 2.901);
    }

    [Fact]
    public void Bootstrap_is_reproducible_with_a_seed()
    {
        double[] values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
        double Median(IReadOnlyList<int> idx) => idx.Select(i => values[i]).Order().ElementAt(idx.Count / 2);
        double a = SampleStatistics.BootstrapStderr(values.Length, Median, seed: 7, iterations: 200);
        Assert.Equal(a, SampleStatistics.BootstrapStderr(values.Length, Median, seed: 7, iterations: 200));
        Assert.NotEqual(a, SampleStatistics.BootstrapStderr(values.Length, Median, seed: 8, iterations: 200));
    }
}
