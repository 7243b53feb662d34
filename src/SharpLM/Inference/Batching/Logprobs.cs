using SharpLM.Tokenization;

namespace SharpLM.Inference.Batching;

/// <summary>Log probabilities of one position, as OpenAI's logprobs report them: log-softmax of the raw logits (before temperature or top-p).</summary>
public static class Logprobs
{
    /// <summary>Every id's natural-log probability, and the <paramref name="top"/> most likely ids (highest first, ties by id) with their text.</summary>
    public static (double[] LogProbabilities, IReadOnlyList<TokenAlternative> Top) Of(ReadOnlySpan<float> logits, int top, ITokenizer tokenizer)
    {
        double max = double.NegativeInfinity;
        foreach (float l in logits) max = Math.Max(max, l);
        double sum = 0;
        foreach (float l in logits) sum += Math.Exp(l - max);
        double logZ = max + Math.Log(sum);
        var result = new double[logits.Length];
        for (int i = 0; i < result.Length; i++) result[i] = logits[i] - logZ;
        if (top == 0) return (result, []);
        // A partial selection: k ≤ 20 of a vocabulary of up to ~150k ids.
        var best = new List<int>(top + 1);
        for (int id = 0; id < result.Length; id++)
        {
            if (best.Count == top && !(result[id] > result[best[^1]])) continue;
            int at = best.Count;
            while (at > 0 && result[id] > result[best[at - 1]]) at--;
            best.Insert(at, id);
            if (best.Count > top) best.RemoveAt(best.Count - 1);
        }
        return (result, best.Select(id => new TokenAlternative(tokenizer.Decode([id]), result[id])).ToArray());
    }
}
