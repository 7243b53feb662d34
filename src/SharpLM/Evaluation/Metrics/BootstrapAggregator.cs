using SharpLM.Runtime;

namespace SharpLM.Evaluation.Metrics;

/// <summary>A confidence interval on the mean ROUGE score of a corpus (rouge_score's <c>AggregateScore</c>).</summary>
public sealed record AggregateScore(RougeScore Low, RougeScore Mid, RougeScore High);

/// <summary>
/// rouge_score's <c>scoring.BootstrapAggregator</c>, the corpus-level ROUGE of ROUGE-1.5.5: per-example scores are
/// resampled with replacement <c>nSamples</c> times, and low/high are the <c>(1 − confidence)/2</c> and
/// <c>1 − (1 − confidence)/2</c> percentiles (numpy's linear interpolation) of the resampled means, taken
/// separately for precision, recall and F-measure. Mid is the mean of the scores: rouge_score reports the median of
/// the resampled means, which estimates exactly that, so the mean is used to keep mid free of resampling noise.
/// Resampling is seeded, so results are reproducible, though not numpy's numbers.
/// </summary>
public sealed class BootstrapAggregator
{
    private readonly double _confidenceInterval;
    private readonly int _nSamples;
    private readonly ulong _seed;
    private readonly Dictionary<string, List<RougeScore>> _scores = [];

    /// <param name="confidenceInterval">Width of the interval, in [0, 1]; 0.95 gives the 2.5th and 97.5th percentiles.</param>
    /// <param name="nSamples">Resamples of the corpus; at least 1.</param>
    /// <param name="seed">Seeds the resampling.</param>
    public BootstrapAggregator(double confidenceInterval = 0.95, int nSamples = 1000, ulong seed = 0)
    {
        if (!(confidenceInterval >= 0 && confidenceInterval <= 1))
            throw new ArgumentOutOfRangeException(nameof(confidenceInterval), "confidence_interval must be in [0, 1]");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nSamples);
        _confidenceInterval = confidenceInterval;
        _nSamples = nSamples;
        _seed = seed;
    }

    /// <summary>Adds one example's scores, e.g. the result of <see cref="RougeScorer.Score"/>.</summary>
    public void AddScores(IReadOnlyDictionary<string, RougeScore> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        foreach (var (type, score) in scores)
        {
            if (!_scores.TryGetValue(type, out var list)) _scores[type] = list = [];
            list.Add(score);
        }
    }

    /// <summary>One interval per score type added. Calling it twice gives the same answer.</summary>
    public IReadOnlyDictionary<string, AggregateScore> Aggregate()
    {
        var random = new SplitMix64(_seed);
        var result = new Dictionary<string, AggregateScore>();
        foreach (var (type, scores) in _scores)
        {
            // Rows of (precision, recall, F) are resampled together, as numpy resamples rows of the score matrix.
            var means = new double[3][];
            for (int k = 0; k < 3; k++) means[k] = new double[_nSamples];
            for (int s = 0; s < _nSamples; s++)
            {
                double p = 0, r = 0, f = 0;
                for (int i = 0; i < scores.Count; i++)
                {
                    RougeScore picked = scores[(int)random.NextLong(scores.Count)];
                    p += picked.Precision;
                    r += picked.Recall;
                    f += picked.FMeasure;
                }
                means[0][s] = p / scores.Count;
                means[1][s] = r / scores.Count;
                means[2][s] = f / scores.Count;
            }
            double delta = (1 - _confidenceInterval) / 2;
            RougeScore At(double q) => new(Percentile(means[0], q), Percentile(means[1], q), Percentile(means[2], q));
            var mid = new RougeScore(
                scores.Average(x => x.Precision), scores.Average(x => x.Recall), scores.Average(x => x.FMeasure));
            result[type] = new AggregateScore(At(delta), mid, At(1 - delta));
        }
        return result;
    }

    /// <summary>numpy's default ("linear") percentile: interpolates between the two nearest order statistics.</summary>
    internal static double Percentile(double[] values, double fraction)
    {
        double[] sorted = values.Order().ToArray();
        double position = fraction * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
    }
}
