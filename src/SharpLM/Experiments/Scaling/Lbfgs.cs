namespace SharpLM.Experiments.Scaling;

/// <summary>
/// Limited-memory BFGS (Nocedal 1980; Nocedal &amp; Wright, Numerical Optimization, algorithm 7.4) with a backtracking
/// Armijo line search: the optimiser Hoffmann et al. (2022) used for their approach-3 fit, written here so the
/// scaling-law fit needs no Python or native solver. Small dense problems only (a handful of parameters).
/// </summary>
public static class Lbfgs
{
    /// <summary>Where a minimisation ended.</summary>
    /// <param name="X">The best point found.</param>
    /// <param name="Value">The objective there.</param>
    /// <param name="Iterations">Accepted steps taken.</param>
    /// <param name="Converged">True when the gradient or the step became negligible (not when the iteration limit stopped it).</param>
    public sealed record Result(double[] X, double Value, int Iterations, bool Converged);

    /// <summary>
    /// Minimises <paramref name="objective"/> from <paramref name="start"/>. The objective writes its gradient into its
    /// second argument and returns the value.
    /// </summary>
    /// <param name="objective">f(x, gradient) → value; must fill the gradient.</param>
    /// <param name="start">The initial point (not modified).</param>
    /// <param name="maxIterations">Accepted steps at most.</param>
    /// <param name="memory">Curvature pairs kept: the "limited memory" (Nocedal &amp; Wright suggest 3–20).</param>
    /// <param name="tolerance">Stops when the gradient's largest component, or a step's largest component, falls below this
    /// (relative to 1 + |x|), or the value stops falling by more than this relative amount.</param>
    public static Result Minimize(Func<double[], double[], double> objective, double[] start, int maxIterations = 500, int memory = 10, double tolerance = 1e-10)
    {
        int n = start.Length;
        var x = (double[])start.Clone();
        var g = new double[n];
        double f = objective(x, g);
        if (!double.IsFinite(f)) return new Result(x, f, 0, false);
        var s = new List<double[]>();
        var y = new List<double[]>();
        var rho = new List<double>();
        var direction = new double[n];
        var alphas = new double[memory];
        var xNew = new double[n];
        var gNew = new double[n];
        for (int iteration = 0; iteration < maxIterations; iteration++)
        {
            if (MaxAbs(g) <= tolerance * (1 + MaxAbs(x))) return new Result(x, f, iteration, true);

            // Two-loop recursion: direction = −H·g with H the L-BFGS inverse-Hessian estimate.
            for (int i = 0; i < n; i++) direction[i] = -g[i];
            for (int k = s.Count - 1; k >= 0; k--)
            {
                alphas[k] = rho[k] * Dot(s[k], direction);
                Axpy(-alphas[k], y[k], direction);
            }
            double gamma = s.Count > 0 ? Dot(s[^1], y[^1]) / Dot(y[^1], y[^1]) : 1 / Math.Max(1, Math.Sqrt(Dot(g, g)));
            for (int i = 0; i < n; i++) direction[i] *= gamma;
            for (int k = 0; k < s.Count; k++)
            {
                double beta = rho[k] * Dot(y[k], direction);
                Axpy(alphas[k] - beta, s[k], direction);
            }
            double slope = Dot(g, direction);
            if (!(slope < 0))
            {
                // Not a descent direction (the curvature estimate went stale): restart from steepest descent.
                s.Clear(); y.Clear(); rho.Clear();
                double scale = 1 / Math.Max(1, Math.Sqrt(Dot(g, g)));
                for (int i = 0; i < n; i++) direction[i] = -g[i] * scale;
                slope = Dot(g, direction);
            }

            // Backtracking line search on the Armijo (sufficient decrease) condition.
            const double armijo = 1e-4, shrink = 0.5;
            double step = 1, fNew = double.NaN;
            bool accepted = false;
            for (int tries = 0; tries < 60; tries++)
            {
                for (int i = 0; i < n; i++) xNew[i] = x[i] + step * direction[i];
                fNew = objective(xNew, gNew);
                if (double.IsFinite(fNew) && fNew <= f + armijo * step * slope) { accepted = true; break; }
                step *= shrink;
            }
            if (!accepted) return new Result(x, f, iteration, true); // no decrease along a descent direction: at machine precision

            var sk = new double[n];
            var yk = new double[n];
            for (int i = 0; i < n; i++) { sk[i] = xNew[i] - x[i]; yk[i] = gNew[i] - g[i]; }
            double sy = Dot(sk, yk);
            if (sy > 1e-300)
            {
                // Only pairs with positive curvature keep the inverse-Hessian estimate positive definite.
                if (s.Count == memory) { s.RemoveAt(0); y.RemoveAt(0); rho.RemoveAt(0); }
                s.Add(sk); y.Add(yk); rho.Add(1 / sy);
            }
            double previous = f;
            Array.Copy(xNew, x, n);
            Array.Copy(gNew, g, n);
            f = fNew;
            if (MaxAbs(sk) <= tolerance * (1 + MaxAbs(x)) || previous - f <= tolerance * Math.Abs(previous) * 1e-3)
                return new Result(x, f, iteration + 1, true);
        }
        return new Result(x, f, maxIterations, false);
    }

    static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    static void Axpy(double a, double[] x, double[] y)
    {
        for (int i = 0; i < x.Length; i++) y[i] += a * x[i];
    }

    static double MaxAbs(double[] v)
    {
        double m = 0;
        foreach (double e in v) m = Math.Max(m, Math.Abs(e));
        return m;
    }
}
