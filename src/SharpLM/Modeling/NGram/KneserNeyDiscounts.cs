namespace SharpLM.Modeling.NGram;

/// <summary>
/// The amounts Kneser-Ney subtracts from an n-gram's adjusted count at one order: <see cref="D1"/> from counts of 1,
/// <see cref="D2"/> from counts of 2 and <see cref="D3Plus"/> from counts of 3 or more (Chen &amp; Goodman 1998's
/// modified Kneser-Ney; plain Kneser-Ney uses one value for all three).
/// </summary>
/// <param name="D1">Subtracted from an adjusted count of 1.</param>
/// <param name="D2">Subtracted from an adjusted count of 2.</param>
/// <param name="D3Plus">Subtracted from an adjusted count of 3 or more.</param>
public sealed record KneserNeyDiscounts(double D1, double D2, double D3Plus)
{
    /// <summary>
    /// KenLM's <c>--discount_fallback</c> defaults, used when the count-of-counts cannot give valid discounts
    /// (small or artificial data: some n_r is 0, or an estimate falls outside [0, r]).
    /// </summary>
    public static readonly KneserNeyDiscounts Fallback = new(0.5, 1.0, 1.5) { IsFallback = true };

    /// <summary>True when these are <see cref="Fallback"/> rather than estimated.</summary>
    public bool IsFallback { get; private init; }

    /// <summary>The same discount for every count: plain (interpolated) Kneser-Ney.</summary>
    public static KneserNeyDiscounts Constant(double discount) => new(discount, discount, discount);

    /// <summary>
    /// Chen &amp; Goodman's estimate (their equation 26) from n_r, the number of n-grams with adjusted count r:
    /// Y = n1 / (n1 + 2 n2), D1 = 1 − 2Y n2/n1, D2 = 2 − 3Y n3/n2, D3+ = 3 − 4Y n4/n3. Like KenLM, an estimate
    /// that is undefined or outside [0, r] makes the whole order use <see cref="Fallback"/>.
    /// </summary>
    public static KneserNeyDiscounts Estimate(IReadOnlyList<long> countOfCounts)
    {
        double n1 = countOfCounts[1], n2 = countOfCounts[2], n3 = countOfCounts[3], n4 = countOfCounts[4];
        double y = n1 / (n1 + 2 * n2);
        double[] d = [1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3];
        for (int r = 1; r <= 3; r++)
            if (!double.IsFinite(d[r - 1]) || d[r - 1] < 0 || d[r - 1] > r) return Fallback;
        return new KneserNeyDiscounts(d[0], d[1], d[2]);
    }

    /// <summary>The discount for an adjusted count (0 for a count of 0).</summary>
    public double For(long adjustedCount) => adjustedCount switch { <= 0 => 0, 1 => D1, 2 => D2, _ => D3Plus };
}
