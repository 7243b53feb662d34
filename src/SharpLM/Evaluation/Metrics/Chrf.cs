using System.Globalization;

namespace SharpLM.Evaluation.Metrics;

/// <summary>sacrebleu's <c>CHRF(...)</c> arguments, with its defaults (chrF2: character 6-grams, no word n-grams, β = 2).</summary>
public sealed record ChrfOptions
{
    /// <summary>Character n-gram order: n-grams of 1 to this many characters are counted.</summary>
    public int CharOrder { get; init; } = 6;
    /// <summary>Word n-gram order; 2 gives chrF++.</summary>
    public int WordOrder { get; init; }
    /// <summary>Weight of recall relative to precision.</summary>
    public int Beta { get; init; } = 2;
    /// <summary>Lowercase hypotheses and references first (case "lc" in the signature).</summary>
    public bool Lowercase { get; init; }
    /// <summary>Keep whitespace inside character n-grams (sacrebleu removes it by default).</summary>
    public bool Whitespace { get; init; }
    /// <summary>
    /// chrF++.py / Moses / NLTK epsilon smoothing: average the per-order F scores. Off (sacrebleu's default), the
    /// F score is taken once from precision and recall averaged over the orders both sides have n-grams of.
    /// </summary>
    public bool EpsSmoothing { get; init; }

    /// <summary>chrF++ (Popović 2017): chrF plus word unigrams and bigrams.</summary>
    public static ChrfOptions ChrfPlusPlus { get; } = new() { WordOrder = 2 };

    internal int Order => CharOrder + WordOrder;

    /// <summary>The metric's part of sacrebleu's <c>CHRFSignature</c>.</summary>
    internal (string, string)[] SignatureFields() =>
    [
        ("case", Lowercase ? "lc" : "mixed"), ("eff", SacrebleuSignature.YesNo(!EpsSmoothing)),
        ("nc", CharOrder.ToString(CultureInfo.InvariantCulture)), ("nw", WordOrder.ToString(CultureInfo.InvariantCulture)),
        ("space", SacrebleuSignature.YesNo(Whitespace)),
    ];
}

/// <summary>A chrF score (0–100) with the orders and β it was computed with.</summary>
public sealed record ChrfScore(double Score, int CharOrder, int WordOrder, int Beta)
{
    /// <summary>sacrebleu's name for the variant: chrF2, chrF2++ for word order 2.</summary>
    public string Name => $"chrF{Beta}{new string('+', WordOrder)}";

    /// <summary>sacrebleu's signature, e.g. <c>nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0</c>.</summary>
    public required string Signature { get; init; }

    /// <summary>sacrebleu's rendering, e.g. <c>chrF2 = 58.37</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name} = {Score:F2}");
}

/// <summary>
/// chrF (Popović 2015) and chrF++ (Popović 2017) exactly as sacrebleu 2.x's <c>CHRF</c>
/// (<c>sacrebleu/metrics/chrf.py</c>): character n-gram (and optionally word n-gram) precision and recall combined
/// into an F-β score. With several references a sentence keeps the statistics of the reference it scores best
/// against; corpus scores sum those statistics before taking the F score.
/// </summary>
public static class Chrf
{
    /// <summary>Corpus chrF in sacrebleu's layout (see <see cref="Bleu.Corpus"/>).</summary>
    public static ChrfScore Corpus(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string?>> referenceStreams,
        ChrfOptions? options = null)
    {
        options ??= new ChrfOptions();
        if (options.CharOrder < 0 || options.WordOrder < 0 || options.Order == 0)
            throw new ArgumentException("chrF needs a positive character or word n-gram order", nameof(options));
        var (segments, nrefs) = SacrebleuReferences.BySegment(hypotheses.Count, referenceStreams);
        var total = new int[3 * options.Order];
        for (int i = 0; i < hypotheses.Count; i++)
        {
            var hypothesis = Extract(hypotheses[i], options);
            var best = BestStatistics(hypothesis, segments[i].Select(r => Extract(r, options)), options);
            for (int k = 0; k < total.Length; k++) total[k] += best[k];
        }
        return new ChrfScore(FScore(total, options), options.CharOrder, options.WordOrder, options.Beta)
        {
            Signature = SacrebleuSignature.Format(nrefs, options.SignatureFields()),
        };
    }

    /// <summary>Sentence chrF against one or more references.</summary>
    public static ChrfScore Sentence(string hypothesis, IReadOnlyList<string> references, ChrfOptions? options = null) =>
        Corpus([hypothesis], SacrebleuReferences.OfSentence(references), options);

    /// <summary>The n-gram counts of a segment: character orders 1..CharOrder, then word orders 1..WordOrder.</summary>
    static Dictionary<string, int>[] Extract(string text, ChrfOptions options)
    {
        if (options.Lowercase) text = PythonText.Lower(text);
        var ngrams = SacrebleuNGrams.AllOfCharacters(text, options.CharOrder, options.Whitespace).ToList();
        if (options.WordOrder > 0)
        {
            var words = SplitPunctuation(text);
            for (int n = 1; n <= options.WordOrder; n++) ngrams.Add(SacrebleuNGrams.OfWords(words, n));
        }
        return [.. ngrams];
    }

    /// <summary>
    /// [hypothesis, reference, matched] n-gram counts per order against the reference with the highest F score
    /// (the first of equals), as sacrebleu's <c>_compute_segment_statistics</c>.
    /// </summary>
    static int[] BestStatistics(Dictionary<string, int>[] hypothesis, IEnumerable<Dictionary<string, int>[]> references,
        ChrfOptions options)
    {
        int[] best = [];
        double bestF = -1.0;
        foreach (var reference in references)
        {
            var stats = new int[3 * options.Order];
            for (int n = 0; n < options.Order; n++)
            {
                int hypCount = 0, matched = 0;
                foreach (var (ngram, count) in hypothesis[n])
                {
                    hypCount += count;
                    matched += Math.Min(count, reference[n].GetValueOrDefault(ngram));
                }
                // sacrebleu counts no hypothesis n-grams for an order the reference has none of
                stats[3 * n] = reference[n].Count > 0 ? hypCount : 0;
                stats[3 * n + 1] = reference[n].Values.Sum();
                stats[3 * n + 2] = matched;
            }
            double f = FScore(stats, options);
            if (f > bestF)
            {
                bestF = f;
                best = stats;
            }
        }
        return best;
    }

    /// <summary>sacrebleu's <c>_compute_f_score</c>, its arithmetic kept in the same order so results agree to the last bit.</summary>
    static double FScore(int[] stats, ChrfOptions options)
    {
        const double eps = 1e-16;
        double score = 0.0, avgPrec = 0.0, avgRec = 0.0;
        int effectiveOrder = 0;
        int factor = options.Beta * options.Beta;
        for (int i = 0; i < options.Order; i++)
        {
            int nHyp = stats[3 * i], nRef = stats[3 * i + 1], nMatch = stats[3 * i + 2];
            double prec = nHyp > 0 ? (double)nMatch / nHyp : eps;
            double rec = nRef > 0 ? (double)nMatch / nRef : eps;
            double denom = factor * prec + rec;
            score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
            if (nHyp > 0 && nRef > 0)
            {
                avgPrec += prec;
                avgRec += rec;
                effectiveOrder++;
            }
        }
        if (options.EpsSmoothing) return 100 * score / options.Order;

        if (effectiveOrder == 0) return 0.0;
        avgPrec /= effectiveOrder;
        avgRec /= effectiveOrder;
        if (avgPrec + avgRec == 0) return 0.0;
        double f = (1 + factor) * avgPrec * avgRec;
        f /= factor * avgPrec + avgRec;
        return 100 * f;
    }

    /// <summary>
    /// chrF++'s word split (sacrebleu's <c>_remove_punctuation</c>, after m-popovic/chrF): one ASCII punctuation
    /// mark is split off the end of a word, or else off its start. Checking UTF-16 units is exact here because
    /// the marks are ASCII and never half of a surrogate pair.
    /// </summary>
    static List<string> SplitPunctuation(string text)
    {
        var words = new List<string>();
        foreach (string w in PythonText.Split(text))
        {
            if (w.Length == 1) words.Add(w);
            else if (IsPunctuation(w[^1])) words.AddRange([w[..^1], w[^1..]]);
            else if (IsPunctuation(w[0])) words.AddRange([w[..1], w[1..]]);
            else words.Add(w);
        }
        return words;
    }

    /// <summary>Python's <c>string.punctuation</c>, the set sacrebleu splits off.</summary>
    const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    static bool IsPunctuation(char c) => Punctuation.Contains(c);
}
