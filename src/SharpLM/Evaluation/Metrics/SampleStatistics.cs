using SharpLM.Runtime;

namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// The uncertainty lm-evaluation-harness attaches to its scores (<c>lm_eval/api/metrics.py</c>): for metrics that
/// are means of per-example values (accuracy, exact match, F1, pass@k) the closed-form standard error of the mean;
/// for corpus-level metrics that are not (BLEU, chrF, ECE, a median) a bootstrap estimate.
/// </summary>
public static class SampleStatistics
{
    /// <summary>
    /// The mean and lm-eval's <c>mean_stderr</c>: the sample standard deviation (n − 1 in the denominator) over
    /// √n. With a single value the standard error is undefined and reported as NaN (lm-eval divides by zero).
    /// </summary>
    public static (double Mean, double Stderr) MeanWithStderr(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) throw new ArgumentException("the mean of no values is undefined", nameof(values));
        double mean = values.Average();
        return (mean, SampleStandardDeviation(values, mean) / Math.Sqrt(values.Count));
    }

    /// <summary>
    /// Bootstrap standard error of a corpus statistic, as lm-eval's <c>bootstrap_stderr</c>: resample the
    /// <paramref name="count"/> examples with replacement <paramref name="iterations"/> times, recompute the
    /// statistic on each resample and return the sample standard deviation of those replicates. The statistic gets
    /// the resampled example indices (repeats included) and computes the metric from the examples at them. Seeded,
    /// so it is reproducible; lm-eval's Python RNG draws are not reproduced.
    /// </summary>
    public static double BootstrapStderr(int count, Func<IReadOnlyList<int>, double> statistic, ulong seed = 0,
        int iterations = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentNullException.ThrowIfNull(statistic);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 2);
        var random = new SplitMix64(seed);
        var replicates = new double[iterations];
        for (int it = 0; it < iterations; it++)
        {
            var indices = new int[count];
            for (int i = 0; i < count; i++) indices[i] = (int)random.NextLong(count);
            replicates[it] = statistic(indices);
        }
        return SampleStandardDeviation(replicates, replicates.Average());
    }

    private static double SampleStandardDeviation(IReadOnlyList<double> values, double mean)
    {
        double squares = values.Sum(x => (x - mean) * (x - mean));
        return Math.Sqrt(squares / (values.Count - 1));
    }
}
