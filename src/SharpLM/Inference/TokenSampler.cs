using SharpLM.Runtime;

namespace SharpLM.Inference;

/// <summary>
/// Turns one position's logits into a token id: repetition penalty, then greedy or temperature → top-k → top-p →
/// a draw from the renormalised distribution. Runs on a plain array with its own seeded generator, so the same
/// seed gives the same text on any device.
/// </summary>
public sealed class TokenSampler
{
    readonly SamplingOptions options;
    readonly SplitMix64 random;

    public TokenSampler(SamplingOptions options)
    {
        this.options = options;
        random = new SplitMix64(options.Seed);
    }

    public int Next(float[] logits, IReadOnlyCollection<int> context)
    {
        if (options.RepetitionPenalty != 1.0)
            foreach (int id in context.Distinct())
                logits[id] = logits[id] > 0 ? (float)(logits[id] / options.RepetitionPenalty) : (float)(logits[id] * options.RepetitionPenalty);

        if (options.Temperature == 0) return ArgMax(logits);

        // Candidates sorted by logit, descending (ties by id so the order is deterministic).
        int[] order = Enumerable.Range(0, logits.Length).ToArray();
        Array.Sort(order, (a, b) => logits[b] != logits[a] ? logits[b].CompareTo(logits[a]) : a.CompareTo(b));
        int keep = options.TopK > 0 ? Math.Min(options.TopK, order.Length) : order.Length;

        double max = logits[order[0]];
        var probs = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) sum += probs[i] = Math.Exp((logits[order[i]] - max) / options.Temperature);

        if (options.TopP < 1.0)
        {
            double cumulative = 0;
            int nucleus = 0;
            while (nucleus < keep)
            {
                cumulative += probs[nucleus++] / sum;
                if (cumulative >= options.TopP) break;
            }
            keep = nucleus;
            sum = probs.Take(keep).Sum();
        }

        double u = random.Next() / (double)ulong.MaxValue * sum;
        for (int i = 0; i < keep; i++)
        {
            u -= probs[i];
            if (u <= 0) return order[i];
        }
        return order[keep - 1];
    }

    static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
