namespace SharpLM.Data.Dedup;

/// <summary>
/// Banding for locality-sensitive hashing: the signature is cut into <see cref="Bands"/> bands of
/// <see cref="Rows"/> values; two documents become candidates when any band matches exactly, which happens with
/// probability 1 − (1 − sʳ)ᵇ at Jaccard similarity s — an S-curve whose steepness trades false positives
/// (dissimilar pairs that collide) against false negatives (similar pairs that never do).
/// </summary>
/// <param name="Bands">Number of bands (b).</param>
/// <param name="Rows">Signature values per band (r).</param>
public sealed record LshParameters(int Bands, int Rows)
{
    /// <summary>Signature values the banding uses: bands × rows.</summary>
    public int Permutations => Bands * Rows;

    /// <summary>Probability that a pair with Jaccard similarity <paramref name="s"/> shares at least one band.</summary>
    public double CandidateProbability(double s) => 1 - Math.Pow(1 - Math.Pow(s, Rows), Bands);

    /// <summary>Mean candidate probability over similarities below the threshold (pairs that should not collide).</summary>
    public double FalsePositiveRate(double threshold) => threshold <= 0 ? 0 : Integrate(CandidateProbability, 0, threshold) / threshold;

    /// <summary>Mean miss probability over similarities at or above the threshold (pairs that should collide).</summary>
    public double FalseNegativeRate(double threshold) =>
        threshold >= 1 ? 0 : Integrate(s => 1 - CandidateProbability(s), threshold, 1) / (1 - threshold);

    /// <summary>
    /// The bands × rows (using at most <paramref name="permutations"/> values) minimising the weighted sum of the two
    /// error rates, as datasketch chooses them. Candidates are verified against the full signature afterwards, so
    /// false negatives, which nothing recovers, weigh more by default.
    /// </summary>
    public static LshParameters Optimal(double threshold, int permutations, double falsePositiveWeight = 0.3, double falseNegativeWeight = 0.7)
    {
        if (threshold is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(threshold), "threshold must be in (0, 1)");
        LshParameters best = new(1, permutations);
        double bestError = double.MaxValue;
        for (int bands = 1; bands <= permutations; bands++)
            for (int rows = 1; bands * rows <= permutations; rows++)
            {
                var p = new LshParameters(bands, rows);
                double error = falsePositiveWeight * p.FalsePositiveRate(threshold) + falseNegativeWeight * p.FalseNegativeRate(threshold);
                if (error < bestError - 1e-12)
                {
                    best = p;
                    bestError = error;
                }
            }
        return best;
    }

    static double Integrate(Func<double, double> f, double from, double to, int steps = 400)
    {
        double h = (to - from) / steps, sum = 0.5 * (f(from) + f(to));
        for (int i = 1; i < steps; i++) sum += f(from + i * h);
        return sum * h;
    }
}
