using SharpLM.Experiments.Scaling;
using SharpLM.Training.Planning;

namespace SharpLM.Tests.Experiments;

public class ScalingLawFitTests
{
    /// <summary>A 6 × 5 grid of N and D (from <paramref name="smallestN"/> and <paramref name="smallestD"/>, steps of 3× and 4×)
    /// from L(N, D) with the given parameters, each loss scaled by e^(σ·z), z ~ N(0, 1) seeded.</summary>
    static List<LossPoint> Synthetic(double e, double a, double alpha, double b, double beta, double noise, int seed, double smallestN = 3e4, double smallestD = 1e6)
    {
        var random = new Random(seed);
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        return (from n in Enumerable.Range(0, 6).Select(i => smallestN * Math.Pow(3, i))
                from d in Enumerable.Range(0, 5).Select(i => smallestD * Math.Pow(4, i))
                let loss = e + a / Math.Pow(n, alpha) + b / Math.Pow(d, beta)
                select new LossPoint(n, d, loss * Math.Exp(noise * Gaussian()))).ToList();
    }

    [Fact]
    public void Lbfgs_finds_the_minimum_of_the_rosenbrock_valley()
    {
        double Rosenbrock(double[] x, double[] g)
        {
            g[0] = -2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] * x[0]);
            g[1] = 200 * (x[1] - x[0] * x[0]);
            return (1 - x[0]) * (1 - x[0]) + 100 * (x[1] - x[0] * x[0]) * (x[1] - x[0] * x[0]);
        }
        var result = Lbfgs.Minimize(Rosenbrock, new[] { -1.2, 1.0 });
        Assert.True(result.Converged);
        Assert.Equal(1.0, result.X[0], 4);
        Assert.Equal(1.0, result.X[1], 4);
        Assert.True(result.Value < 1e-8, $"f = {result.Value}");
    }

    [Fact]
    public void Chinchilla_fit_recovers_known_parameters_from_noisy_synthetic_losses()
    {
        // Hoffmann et al.'s published fit, over the sizes and tokens they fitted (10M–2.4B parameters, 1B–256B tokens,
        // where E is a large share of the loss), with 0.3% multiplicative noise on every loss.
        var points = Synthetic(Chinchilla.E, Chinchilla.A, Chinchilla.Alpha, Chinchilla.B, Chinchilla.Beta, noise: 0.003, seed: 11, smallestN: 1e7, smallestD: 1e9);
        var fit = ChinchillaFit.Fit(points);
        Assert.True(fit.RSquared > 0.99, $"R² {fit.RSquared}");
        Assert.InRange(fit.E, Chinchilla.E - 0.1, Chinchilla.E + 0.1);
        Assert.InRange(fit.Alpha, Chinchilla.Alpha - 0.05, Chinchilla.Alpha + 0.05);
        Assert.InRange(fit.Beta, Chinchilla.Beta - 0.05, Chinchilla.Beta + 0.05);
        // A and B trade off against the exponents; the losses they give are what must agree.
        foreach (var p in points)
        {
            double truth = Chinchilla.Loss(p.Parameters, p.Tokens);
            Assert.True(Math.Abs(fit.Loss(p.Parameters, p.Tokens) - truth) < 0.02 * truth, $"N {p.Parameters}, D {p.Tokens}: fit {fit.Loss(p.Parameters, p.Tokens)} vs {truth}");
        }
        Assert.Equal(ChinchillaFit.HoffmannGrid().Count(), fit.Initialisations);
    }

    [Fact]
    public void Chinchilla_fit_of_noiseless_losses_is_exact_and_its_optimum_is_equation_4()
    {
        var points = Synthetic(1.2, 30, 0.45, 200, 0.35, noise: 0, seed: 1);
        var fit = ChinchillaFit.Fit(points);
        Assert.True(fit.RSquared > 0.99999, $"R² {fit.RSquared}");
        Assert.Equal(1.2, fit.E, 2);
        Assert.Equal(0.45, fit.Alpha, 2);
        Assert.Equal(0.35, fit.Beta, 2);

        // At the optimum the loss is stationary along the iso-FLOP curve D = C/6N, and C is honoured.
        var (n, d) = fit.Optimum(1e15);
        Assert.Equal(1e15, 6 * n * d, 1e15 * 1e-9);
        double At(double scale) => fit.Loss(n * scale, d / scale);
        Assert.True(At(1) < At(1.1) && At(1) < At(1 / 1.1));
    }

    [Fact]
    public void Optimum_with_the_published_parameters_matches_the_planner()
    {
        var published = new ChinchillaFit(Chinchilla.E, Chinchilla.A, Chinchilla.Alpha, Chinchilla.B, Chinchilla.Beta, 1, 0, 0, 0);
        var (n, d) = published.Optimum(5.76e23);
        var (pn, pd) = Chinchilla.Optimum(5.76e23);
        Assert.Equal(pn, n, pn * 1e-12);
        Assert.Equal(pd, d, pd * 1e-12);
    }

    [Fact]
    public void Kaplan_fit_recovers_the_exponent_and_scale_of_a_power_law()
    {
        var random = new Random(3);
        var points = new[] { 2e4, 5e4, 1e5, 3e5, 1e6, 4e6 }
            .Select(n => new LossPoint(n, 1e7, Math.Pow(8.8e13 / n, 0.076) * Math.Exp(0.002 * (random.NextDouble() - 0.5)))).ToList();
        var fit = KaplanFit.Fit(points);
        Assert.InRange(fit.AlphaN, 0.070, 0.082);
        Assert.InRange(Math.Log10(fit.Nc), 13.0, 14.9);
        Assert.True(fit.RSquared > 0.95, $"R² {fit.RSquared}");
        Assert.Equal(Math.Pow(8.8e13 / 3e5, 0.076), fit.Loss(3e5), 2);
    }

    [Fact]
    public void Fits_refuse_too_few_points()
    {
        Assert.Throws<ArgumentException>(() => KaplanFit.Fit(new[] { new LossPoint(1e5, 1e6, 2) }));
        Assert.Throws<ArgumentException>(() => ChinchillaFit.Fit(new[] { new LossPoint(1e5, 1e6, 2), new LossPoint(2e5, 1e6, 1.9) }));
    }

    [Fact]
    public void Kaplan_learning_rate_falls_slowly_with_size()
    {
        Assert.Equal(0.003239 - 0.0001395 * Math.Log(1e6), ScalingLaws.KaplanLearningRate(1e6), 12);
        Assert.True(ScalingLaws.KaplanLearningRate(5e4) > ScalingLaws.KaplanLearningRate(8e5));
    }
}
