namespace SharpLM.Training.Planning;

/// <summary>
/// Compute-optimal model size and data (Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models").
/// Training costs C ≈ 6·N·D FLOPs for N parameters and D tokens. Approach 3 fits the final loss as
/// L(N, D) = E + A/N^α + B/D^β (eq. 2, fitted values in §3.3 and Appendix D.2); minimising it under C = 6ND gives
/// eq. 4: N_opt(C) = G·(C/6)^a and D_opt(C) = G⁻¹·(C/6)^b with a = β/(α+β), b = α/(α+β), G = (αA/(βB))^(1/(α+β)).
/// The paper's simpler reading of approaches 1 and 2 is about 20 tokens per parameter (Table 3).
/// </summary>
public static class Chinchilla
{
    /// <summary>The irreducible loss E of the approach-3 fit.</summary>
    public const double E = 1.69;
    /// <summary>The parameter term's coefficient A.</summary>
    public const double A = 406.4;
    /// <summary>The data term's coefficient B.</summary>
    public const double B = 410.7;
    /// <summary>The parameter term's exponent α.</summary>
    public const double Alpha = 0.34;
    /// <summary>The data term's exponent β.</summary>
    public const double Beta = 0.28;
    /// <summary>The rule of thumb: tokens per parameter at the optimum.</summary>
    public const double TokensPerParameter = 20;

    /// <summary>L(N, D) = E + A/N^α + B/D^β, the fitted final loss (nats per token on MassiveText).</summary>
    public static double Loss(double parameters, double tokens) =>
        E + A / Math.Pow(parameters, Alpha) + B / Math.Pow(tokens, Beta);

    /// <summary>Eq. 4: the N and D that minimise <see cref="Loss"/> for <paramref name="flops"/> = 6ND.</summary>
    public static (double Parameters, double Tokens) Optimum(double flops)
    {
        double g = Math.Pow(Alpha * A / (Beta * B), 1 / (Alpha + Beta));
        return (g * Math.Pow(flops / 6, Beta / (Alpha + Beta)), Math.Pow(flops / 6, Alpha / (Alpha + Beta)) / g);
    }

    /// <summary>The 20-tokens-per-parameter rule under C = 6ND: N = √(C / (6·20)), D = 20·N.</summary>
    public static (double Parameters, double Tokens) RuleOfThumb(double flops)
    {
        double n = Math.Sqrt(flops / (6 * TokensPerParameter));
        return (n, TokensPerParameter * n);
    }
}
