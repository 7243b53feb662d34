namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// The unbiased pass@k estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code", the
/// HumanEval paper): with n samples of which c pass, pass@k = 1 − C(n−c, k) / C(n, k), the chance that k samples
/// drawn without replacement include a passing one. It is better than 1 − (1 − c/n)^k, which is biased low.
/// </summary>
public static class PassAtK
{
    /// <summary>
    /// pass@k for one problem, in the paper's numerically stable product form
    /// 1 − Π_{i=n−c+1..n} (1 − k/i), which never forms the huge binomials.
    /// </summary>
    public static double Estimate(int n, int c, int k)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "pass@k needs at least one sample");
        if (c < 0 || c > n)
            throw new ArgumentOutOfRangeException(nameof(c), c, $"passing samples must be in [0, n={n}]");
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, n={n}]");
        // Fewer than k failures: every draw of k samples contains a passing one.
        if (n - c < k) return 1.0;
        double allFail = 1.0;
        for (int i = n - c + 1; i <= n; i++) allFail *= 1.0 - (double)k / i;
        return 1.0 - allFail;
    }

    /// <summary>The benchmark score: pass@k averaged over problems, each given as (samples, passing samples).</summary>
    public static double Mean(IEnumerable<(int N, int C)> problems, int k)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var values = problems.Select(p => Estimate(p.N, p.C, k)).ToList();
        if (values.Count == 0) throw new ArgumentException("pass@k needs at least one problem", nameof(problems));
        return values.Average();
    }
}
