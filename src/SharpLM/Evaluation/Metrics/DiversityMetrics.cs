namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// How varied a set of generations is. distinct-n (Li et al. 2016) counts repeated phrasing across the set;
/// self-BLEU (Zhu et al. 2018, Texygen) scores each generation against the others, so a higher value means the
/// generations resemble each other more (less diversity).
/// </summary>
public static class DiversityMetrics
{
    /// <summary>
    /// distinct-n: unique n-grams over all n-grams, pooled over the generations (n-grams never span two of them).
    /// Words are the whitespace-separated tokens after <paramref name="tokenizer"/> (none by default); a set with
    /// no n-gram at all scores 0.
    /// </summary>
    public static double DistinctN(IReadOnlyList<string> generations, int n, BleuTokenizer? tokenizer = null)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "n-gram order must be at least 1");
        tokenizer ??= BleuTokenizer.None;
        var unique = new HashSet<string>(StringComparer.Ordinal);
        int total = 0;
        foreach (string generation in generations)
            foreach (var (ngram, count) in SacrebleuNGrams.OfWords(PythonText.Split(tokenizer.Tokenize(generation)), n))
            {
                unique.Add(ngram);
                total += count;
            }
        return total == 0 ? 0 : (double)unique.Count / total;
    }

    /// <summary>
    /// Self-BLEU: the mean sentence BLEU (0–100) of each generation with all the other generations as its references.
    /// Without options it uses sacrebleu's sentence-BLEU defaults (13a, exp smoothing, effective order).
    /// </summary>
    public static double SelfBleu(IReadOnlyList<string> generations, BleuOptions? options = null)
    {
        if (generations.Count < 2)
            throw new ArgumentException("self-BLEU needs at least two generations", nameof(generations));
        options ??= BleuOptions.SentenceDefault;
        Bleu.Validate(options);
        // Each generation is tokenized once and then serves as hypothesis once and as reference for all the others.
        var segments = generations.Select(g => BleuSegment.Extract(g, options)).ToArray();
        double sum = 0;
        for (int i = 0; i < segments.Length; i++)
        {
            var others = BleuReferences.Merge(segments.Where((_, j) => j != i));
            sum += Bleu.Score(BleuStatistics.Of(segments[i], others), options).Score;
        }
        return sum / segments.Length;
    }
}
