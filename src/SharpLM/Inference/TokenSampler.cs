using SharpLM.Runtime;

namespace SharpLM.Inference;

/// <summary>
/// Turns one position's logits into a token id: repetition penalty, then greedy or temperature → top-k → top-p →
/// a draw from the renormalised distribution. Runs on a plain array with its own seeded generator, so the same
/// seed gives the same text on any device. Only what a setting needs is computed per token: top-k keeps a heap of
/// k candidates, and the candidates are sorted only for top-p (a 50k-token vocabulary is not sorted per token).
/// </summary>
public sealed class TokenSampler
{
    readonly SamplingOptions options;
    readonly SplitMix64 random;

    /// <summary>A sampler with <paramref name="options"/>, its generator seeded from <see cref="SamplingOptions.Seed"/>.</summary>
    public TokenSampler(SamplingOptions options)
    {
        this.options = options;
        random = new SplitMix64(options.Seed);
    }

    /// <summary>Picks the next token id; advances the generator unless decoding is greedy.</summary>
    /// <param name="logits">One logit per vocabulary id; the repetition penalty is applied to it in place.</param>
    /// <param name="context">The ids so far (prompt and generated), which the repetition penalty discourages.</param>
    public int Next(float[] logits, IReadOnlyCollection<int> context)
    {
        if (options.RepetitionPenalty != 1.0)
            foreach (int id in context.Distinct())
                logits[id] = logits[id] > 0 ? (float)(logits[id] / options.RepetitionPenalty) : (float)(logits[id] * options.RepetitionPenalty);

        if (options.Temperature == 0) return ArgMax(logits);

        int[] candidates = options.TopK > 0 && options.TopK < logits.Length ? TopK(logits, options.TopK) : Enumerable.Range(0, logits.Length).ToArray();
        if (options.TopP < 1.0) Array.Sort(candidates, (a, b) => Before(logits, a, b) ? -1 : a == b ? 0 : 1);

        double max = candidates.Max(id => logits[id]);
        var probs = new double[candidates.Length];
        double sum = 0;
        for (int i = 0; i < candidates.Length; i++) sum += probs[i] = Math.Exp((logits[candidates[i]] - max) / options.Temperature);

        int keep = candidates.Length;
        if (options.TopP < 1.0)
        {
            // Smallest prefix of the sorted candidates whose probability reaches p.
            double cumulative = 0;
            keep = 0;
            while (keep < candidates.Length)
            {
                cumulative += probs[keep++] / sum;
                if (cumulative >= options.TopP) break;
            }
            sum = probs.Take(keep).Sum();
        }

        double u = random.Next() / (double)ulong.MaxValue * sum;
        for (int i = 0; i < keep; i++)
        {
            u -= probs[i];
            if (u <= 0) return candidates[i];
        }
        return candidates[keep - 1];
    }

    /// <summary>Higher logit first; ties by lower id, so the order is deterministic.</summary>
    static bool Before(float[] logits, int a, int b) => logits[a] > logits[b] || (logits[a] == logits[b] && a < b);

    /// <summary>The k best ids in id order, via a heap whose root is the worst of the best so far.</summary>
    static int[] TopK(float[] logits, int k)
    {
        var heap = new PriorityQueue<int, int>(k, Comparer<int>.Create((a, b) => a == b ? 0 : Before(logits, a, b) ? 1 : -1));
        for (int id = 0; id < logits.Length; id++)
        {
            if (heap.Count < k) heap.Enqueue(id, id);
            else if (Before(logits, id, heap.Peek())) heap.EnqueueDequeue(id, id);
        }
        var best = new int[heap.Count];
        for (int i = 0; i < best.Length; i++) best[i] = heap.Dequeue();
        Array.Sort(best);
        return best;
    }

    static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
