namespace SharpLM.Experiments.Scaling;

/// <summary>One measured run for a fit: non-embedding parameters N, training tokens D and the final loss L (nats/token).</summary>
public sealed record LossPoint(double Parameters, double Tokens, double Loss);

/// <summary>
/// Kaplan et al. (2020) eq. 1.1: L(N) = (N_c / N)^α_N for models trained near convergence, N without embeddings.
/// A straight line in log–log space: ln L = α_N·ln N_c − α_N·ln N.
/// </summary>
/// <param name="Nc">N_c, the scale at which the law reaches 1 nat.</param>
/// <param name="AlphaN">α_N, the exponent (Kaplan: 0.076 on WebText2 with BPE).</param>
/// <param name="RSquared">R² of the fitted losses against the measured ones, in nats (not in log space).</param>
/// <param name="Points">The points fitted.</param>
public sealed record KaplanFit(double Nc, double AlphaN, double RSquared, int Points)
{
    /// <summary>The fitted loss at <paramref name="parameters"/> non-embedding parameters.</summary>
    public double Loss(double parameters) => Math.Pow(Nc / parameters, AlphaN);

    /// <summary>
    /// Least squares of ln L on ln N (the law is linear there, so the fit is exact and needs no optimiser).
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than two points, two sizes the same, or a non-positive value.</exception>
    public static KaplanFit Fit(IReadOnlyList<LossPoint> points)
    {
        if (points.Count < 2) throw new ArgumentException($"a Kaplan fit needs at least two points, not {points.Count}");
        if (points.Any(p => !(p.Parameters > 0) || !(p.Loss > 0))) throw new ArgumentException("parameters and losses must be positive");
        double[] x = points.Select(p => Math.Log(p.Parameters)).ToArray();
        double[] y = points.Select(p => Math.Log(p.Loss)).ToArray();
        double mx = x.Average(), my = y.Average();
        double sxx = x.Sum(v => (v - mx) * (v - mx));
        if (sxx == 0) throw new ArgumentException("a Kaplan fit needs at least two different sizes");
        double slope = x.Zip(y, (a, b) => (a - mx) * (b - my)).Sum() / sxx;
        double alpha = -slope;
        double intercept = my - slope * mx; // = α·ln N_c
        var fit = new KaplanFit(Math.Exp(intercept / alpha), alpha, 0, points.Count);
        return fit with { RSquared = ScalingLaws.RSquared(points.Select(p => p.Loss), points.Select(p => fit.Loss(p.Parameters))) };
    }
}

/// <summary>
/// Hoffmann et al. (2022) eq. 2: L(N, D) = E + A/N^α + B/D^β, fitted by their approach 3 — the Huber loss (δ = 10⁻³)
/// between the predicted and measured log loss, minimised with L-BFGS from a grid of initialisations, the best
/// minimum kept. The parameters are searched as a = ln A, b = ln B, e = ln E so that the prediction is
/// LSE(a − α ln N, b − β ln D, e), positive by construction.
/// </summary>
/// <param name="E">The irreducible loss.</param>
/// <param name="A">The parameter term's coefficient.</param>
/// <param name="Alpha">The parameter term's exponent α.</param>
/// <param name="B">The data term's coefficient.</param>
/// <param name="Beta">The data term's exponent β.</param>
/// <param name="RSquared">R² of the fitted losses against the measured ones, in nats.</param>
/// <param name="Objective">The minimised sum of Huber losses on log L.</param>
/// <param name="Points">The points fitted.</param>
/// <param name="Initialisations">Starting points tried.</param>
public sealed record ChinchillaFit(double E, double A, double Alpha, double B, double Beta, double RSquared, double Objective, int Points, int Initialisations)
{
    /// <summary>Hoffmann et al.'s Huber threshold on the log-loss residual.</summary>
    public const double DefaultHuberDelta = 1e-3;

    /// <summary>The fitted loss of <paramref name="parameters"/> non-embedding parameters trained on <paramref name="tokens"/> tokens.</summary>
    public double Loss(double parameters, double tokens) => E + A / Math.Pow(parameters, Alpha) + B / Math.Pow(tokens, Beta);

    /// <summary>
    /// Hoffmann et al. eq. 4: the N and D minimising <see cref="Loss"/> under C = 6ND —
    /// N_opt = G·(C/6)^(β/(α+β)), D_opt = G⁻¹·(C/6)^(α/(α+β)), G = (αA / (βB))^(1/(α+β)).
    /// </summary>
    /// <exception cref="InvalidOperationException">An exponent is not positive: the loss would not fall with N or D and has no interior optimum.</exception>
    public (double Parameters, double Tokens) Optimum(double flops)
    {
        if (!(Alpha > 0) || !(Beta > 0))
            throw new InvalidOperationException($"the fit's exponents (α = {Alpha:G4}, β = {Beta:G4}) must both be positive for a compute-optimal allocation");
        double g = Math.Pow(Alpha * A / (Beta * B), 1 / (Alpha + Beta));
        return (g * Math.Pow(flops / 6, Beta / (Alpha + Beta)), Math.Pow(flops / 6, Alpha / (Alpha + Beta)) / g);
    }

    /// <summary>Hoffmann et al.'s initialisation grid: α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25}.</summary>
    public static IEnumerable<double[]> HoffmannGrid()
    {
        static IEnumerable<double> Range(double from, double to, double step)
        {
            for (int i = 0; from + i * step <= to + 1e-9; i++) yield return from + i * step;
        }
        return from a in Range(0, 25, 5)
               from b in Range(0, 25, 5)
               from e in Range(-1, 1, 0.5)
               from alpha in Range(0, 2, 0.5)
               from beta in Range(0, 2, 0.5)
               select new[] { a, b, e, alpha, beta };
    }

    /// <summary>
    /// Fits <paramref name="points"/> (approach 3): L-BFGS from every start of <paramref name="starts"/> (default
    /// <see cref="HoffmannGrid"/>), keeping the lowest Huber objective.
    /// </summary>
    /// <param name="points">At least five points (there are five parameters) with at least two sizes and two token counts.</param>
    /// <param name="huberDelta">The Huber threshold on log-loss residuals.</param>
    /// <param name="starts">Initial (a, b, e, α, β) vectors; null = <see cref="HoffmannGrid"/>.</param>
    /// <exception cref="ArgumentException">Too few points or distinct values.</exception>
    public static ChinchillaFit Fit(IReadOnlyList<LossPoint> points, double huberDelta = DefaultHuberDelta, IEnumerable<double[]>? starts = null)
    {
        if (points.Count < 5) throw new ArgumentException($"a Chinchilla fit has five parameters and needs at least five points, not {points.Count}");
        if (points.Select(p => p.Parameters).Distinct().Count() < 2 || points.Select(p => p.Tokens).Distinct().Count() < 2)
            throw new ArgumentException("a Chinchilla fit needs at least two sizes and two token counts");
        if (points.Any(p => !(p.Parameters > 0) || !(p.Tokens > 0) || !(p.Loss > 0))) throw new ArgumentException("parameters, tokens and losses must be positive");
        double[] logN = points.Select(p => Math.Log(p.Parameters)).ToArray();
        double[] logD = points.Select(p => Math.Log(p.Tokens)).ToArray();
        double[] logL = points.Select(p => Math.Log(p.Loss)).ToArray();

        double Objective(double[] v, double[] gradient)
        {
            double a = v[0], b = v[1], e = v[2], alpha = v[3], beta = v[4];
            Array.Clear(gradient);
            double total = 0;
            for (int i = 0; i < logL.Length; i++)
            {
                double t1 = a - alpha * logN[i], t2 = b - beta * logD[i], t3 = e;
                double max = Math.Max(t1, Math.Max(t2, t3));
                double w1 = Math.Exp(t1 - max), w2 = Math.Exp(t2 - max), w3 = Math.Exp(t3 - max), sum = w1 + w2 + w3;
                double r = max + Math.Log(sum) - logL[i];
                double abs = Math.Abs(r);
                total += abs <= huberDelta ? 0.5 * r * r : huberDelta * (abs - 0.5 * huberDelta);
                double dr = abs <= huberDelta ? r : huberDelta * Math.Sign(r); // Huber'(r)
                w1 /= sum; w2 /= sum; w3 /= sum;                                // ∂LSE/∂t_k: a softmax
                gradient[0] += dr * w1;
                gradient[1] += dr * w2;
                gradient[2] += dr * w3;
                gradient[3] -= dr * w1 * logN[i];
                gradient[4] -= dr * w2 * logD[i];
            }
            return total;
        }

        Lbfgs.Result? best = null;
        int tried = 0;
        foreach (double[] start in starts ?? HoffmannGrid())
        {
            tried++;
            var result = Lbfgs.Minimize(Objective, start);
            if (double.IsFinite(result.Value) && (best is null || result.Value < best.Value)) best = result;
        }
        if (best is null) throw new ArgumentException("no initialisation gave a finite objective");
        double[] x = best.X;
        var fit = new ChinchillaFit(Math.Exp(x[2]), Math.Exp(x[0]), x[3], Math.Exp(x[1]), x[4], 0, best.Value, points.Count, tried);
        return fit with { RSquared = ScalingLaws.RSquared(points.Select(p => p.Loss), points.Select(p => fit.Loss(p.Parameters, p.Tokens))) };
    }
}

/// <summary>Shared arithmetic of the scaling-law fits.</summary>
public static class ScalingLaws
{
    /// <summary>Training compute in FLOPs by Kaplan's and Hoffmann's approximation C ≈ 6·N·D.</summary>
    public static double Flops(double parameters, double tokens) => 6 * parameters * tokens;

    /// <summary>1 − SS_res / SS_tot of <paramref name="predicted"/> against <paramref name="measured"/>.</summary>
    public static double RSquared(IEnumerable<double> measured, IEnumerable<double> predicted)
    {
        double[] m = measured.ToArray(), p = predicted.ToArray();
        double mean = m.Average();
        double total = m.Sum(v => (v - mean) * (v - mean));
        double residual = m.Zip(p, (a, b) => (a - b) * (a - b)).Sum();
        return total == 0 ? (residual == 0 ? 1 : double.NegativeInfinity) : 1 - residual / total;
    }

    /// <summary>
    /// Kaplan et al. (2020) eq. D.1: the learning rate that worked across their model sizes,
    /// LR(N) ≈ 0.003239 − 0.0001395·ln N for N non-embedding parameters. Using it for every size keeps each model near
    /// its own good rate instead of giving the smallest and largest one rate tuned for neither.
    /// </summary>
    public static double KaplanLearningRate(double parameters) => 0.003239 - 0.0001395 * Math.Log(parameters);
}
