using System.Numerics;
using SharpLM.Evaluation.Metrics;

namespace SharpLM.Tests.Evaluation.Metrics;

public class PassAtKTests
{
    [Theory]
    [InlineData(10, 1, 1)]
    [InlineData(10, 3, 5)]
    [InlineData(5, 0, 1)]
    [InlineData(5, 5, 1)]
    [InlineData(5, 3, 3)] // n − c = 2 < k: always 1
    [InlineData(20, 1, 20)] // n − c = 19 < k
    [InlineData(20, 0, 20)]
    [InlineData(1, 1, 1)]
    [InlineData(1, 0, 1)]
    [InlineData(200, 13, 1)]
    [InlineData(200, 13, 10)]
    [InlineData(200, 13, 100)]
    [InlineData(100, 50, 50)]
    [InlineData(200, 1, 199)]
    public void Matches_the_exact_binomial_form(int n, int c, int k)
    {
        // 1 − C(n−c, k) / C(n, k), with C(a, b) = 0 for b > a.
        BigInteger failing = n - c < k ? BigInteger.Zero : Binomial(n - c, k);
        double exact = 1 - (double)failing / (double)Binomial(n, k);
        Assert.Equal(exact, PassAtK.Estimate(n, c, k), 12);
    }

    [Fact]
    public void Hand_values()
    {
        Assert.Equal(0.1, PassAtK.Estimate(10, 1, 1), 15); // c/n when k = 1
        Assert.Equal(1 - 21.0 / 252, PassAtK.Estimate(10, 3, 5), 15); // 1 − C(7,5)/C(10,5)
        Assert.Equal(1.0, PassAtK.Estimate(10, 8, 3)); // 2 failures cannot fill 3 draws
    }

    [Fact]
    public void Mean_averages_over_problems() =>
        Assert.Equal((0.1 + 1.0 + 0.0) / 3, PassAtK.Mean([(10, 1), (10, 10), (10, 0)], k: 1), 15);

    [Theory]
    [InlineData(0, 0, 1)]
    [InlineData(10, -1, 1)]
    [InlineData(10, 11, 1)]
    [InlineData(10, 3, 0)]
    [InlineData(10, 3, 11)]
    public void Rejects_impossible_counts(int n, int c, int k) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(n, c, k));

    private static BigInteger Binomial(int n, int k)
    {
        BigInteger result = BigInteger.One;
        for (int i = 1; i <= k; i++) result = result * (n - k + i) / i;
        return result;
    }
}
