namespace SharpLM.Modeling.NGram;

/// <summary>The two Kneser-Ney estimators <see cref="KneserNeyModel"/> implements.</summary>
public enum KneserNeyVariant
{
    /// <summary>Interpolated Kneser-Ney with one fixed discount, exactly as NLTK's <c>KneserNeyInterpolated</c>.</summary>
    Plain,

    /// <summary>Chen &amp; Goodman's interpolated modified Kneser-Ney, KenLM's <c>lmplz</c> estimator.</summary>
    Modified,
}

/// <summary>
/// An interpolated Kneser-Ney language model of any order over <see cref="NGramCounts"/>. At each order k, for a
/// context h of k−1 tokens and h′ = h without its oldest token,
/// <code>
/// P(w | h) = max(a(h w) − D(a(h w)), 0) / Σ_v a(h v)  +  γ(h) · P(w | h′)
/// </code>
/// where a is the adjusted count (<see cref="AdjustedCounts"/>: raw at the highest order, continuation counts
/// below) and γ(h) is the mass the discounts removed. A context never seen (or seen with no followers) has γ = 1 and
/// hands the whole prediction to h′ (NLTK issue #2332; an ARPA file's default backoff of 1). Because the lower
/// order is added for every word, a word unseen after h gets exactly γ(h)·P(w | h′): the model is its own backoff
/// model, which is how <see cref="ArpaFormat"/> writes it.
/// <para>
/// <b><see cref="KneserNeyVariant.Plain"/></b> reproduces <c>nltk.lm.KneserNeyInterpolated</c> (NLTK 3.8,
/// <c>nltk/lm/smoothing.py</c>). One discount D ∈ [0, 1] at orders ≥ 2. The unigram level is NLTK's undiscounted
/// continuation distribution N1+(• w) / N1+(• •) with nothing below it, so a word that never followed anything —
/// an in-vocabulary word absent from training, or <c>&lt;unk&gt;</c> when no token was mapped to it — has
/// probability 0. NLTK's weight is γ(h) = D · |{w : c(h w) &gt; 0}| / Σ_w a(h w): it counts followers by raw count
/// even at lower orders, where the denominator uses continuation counts. The two disagree only for contexts of
/// start markers under <see cref="SentencePadding.Nltk"/> padding (in a trigram model the bigram (&lt;s&gt;, &lt;s&gt;)
/// has no left neighbour), where NLTK's own distribution P(· | &lt;s&gt;) sums to more than 1 (1.375 in its unit-test
/// model); that is reproduced on purpose. Under <see cref="SentencePadding.KenLm"/> padding every distribution sums to 1.
/// </para>
/// <para>
/// <b><see cref="KneserNeyVariant.Modified"/></b> is Chen &amp; Goodman (1998) §3: three discounts D1, D2, D3+ per
/// order, unigrams included, estimated from that order's count-of-counts of adjusted counts
/// (<see cref="KneserNeyDiscounts.Estimate"/>); γ(h) = (D1·N1(h •) + D2·N2(h •) + D3+·N3+(h •)) / Σ_w a(h w), with
/// N_r(h •) the number of words whose adjusted count after h is r (3 or more for N3+); and below the unigrams a
/// uniform distribution 1/|V| over the predictable vocabulary (every type but <c>&lt;s&gt;</c> under KenLM padding),
/// so every word, <c>&lt;unk&gt;</c> included, has nonzero probability and every distribution sums to 1.
/// This is KenLM's <c>lmplz</c> estimator (adjusted counts with raw counts for n-grams beginning with
/// <c>&lt;s&gt;</c>, equation-26 discounts, uniform mass over |V| excluding <c>&lt;s&gt;</c>, interpolated unigrams).
/// It differs from KenLM in three ways: KenLM maps no training token to <c>&lt;unk&gt;</c>, so its <c>&lt;unk&gt;</c>
/// gets only the uniform share γ(ε)/|V|, whereas here tokens seen fewer than <c>minCount</c> times become
/// <c>&lt;unk&gt;</c> and are counted like any word (as NLTK and SRILM's <c>-unk</c> do); KenLM stops on undefined
/// discounts unless given <c>--discount_fallback</c>, whereas here the fallback 0.5/1/1.5 is automatic and flagged
/// (<see cref="KneserNeyDiscounts.IsFallback"/>); and KenLM computes in single precision, this in double.
/// </para>
/// </summary>
public sealed class KneserNeyModel : NGramLanguageModel
{
    readonly NGramTrie trie;
    readonly AdjustedCounts adjusted;
    readonly KneserNeyDiscounts[] discounts; // [order]
    readonly double[][] gammas;              // [order][context n-gram of order − 1]
    readonly double uniform;

    KneserNeyModel(NGramCounts counts, KneserNeyVariant variant, Func<AdjustedCounts, int, KneserNeyDiscounts> discountsAt)
        : base(counts.Vocabulary, counts.Order, counts.Tokenization, counts.Padding)
    {
        counts.Freeze();
        Counts = counts;
        Variant = variant;
        trie = counts.Trie;
        adjusted = new AdjustedCounts(counts);
        discounts = new KneserNeyDiscounts[Order + 1];
        gammas = new double[Order + 1][];
        for (int k = 1; k <= Order; k++)
        {
            discounts[k] = discountsAt(adjusted, k);
            gammas[k] = new double[trie.Count(k - 1)];
            for (int h = 0; h < gammas[k].Length; h++) gammas[k][h] = Gamma(adjusted.Context(k, h), discounts[k]);
        }
        int predictable = Vocabulary.Count - (Padding == SentencePadding.KenLm ? 1 : 0);
        uniform = 1.0 / predictable;
    }

    /// <summary>Plain interpolated Kneser-Ney, NLTK's <c>KneserNeyInterpolated(order, discount)</c> (NLTK's default discount is 0.1).</summary>
    public static KneserNeyModel Plain(NGramCounts counts, double discount = 0.1)
    {
        // NLTK's own check: a discount above 1 could take more than a count of 1 has, breaking normalisation.
        ArgumentOutOfRangeException.ThrowIfNegative(discount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(discount, 1.0);
        return new KneserNeyModel(counts, KneserNeyVariant.Plain,
            (_, k) => KneserNeyDiscounts.Constant(k == 1 ? 0 : discount));
    }

    /// <summary>Interpolated modified Kneser-Ney with discounts estimated from the counts.</summary>
    public static KneserNeyModel Modified(NGramCounts counts) =>
        new(counts, KneserNeyVariant.Modified, (a, k) => KneserNeyDiscounts.Estimate(a.CountOfCounts(k)));

    /// <summary>Which estimator built the model: one fixed discount (plain) or modified Kneser-Ney's estimated ones.</summary>
    public KneserNeyVariant Variant { get; }

    /// <summary>The counts the model was estimated from (frozen).</summary>
    public NGramCounts Counts { get; }

    /// <summary>The discounts of order k at index k − 1 (unigrams first).</summary>
    public IReadOnlyList<KneserNeyDiscounts> Discounts => discounts[1..];

    internal NGramTrie Trie => trie;

    internal override double Probability(ReadOnlySpan<int> context, int word)
    {
        if (context.Length > Order - 1) context = context[^(Order - 1)..];
        double p = word == NGramVocabulary.SentenceStartId && Padding == SentencePadding.KenLm ? 0 : uniform;
        for (int k = 1; k <= context.Length + 1; k++)
        {
            int h = trie.Find(context[^(k - 1)..]);
            // Every longer context contains this one as its suffix, so none of them was seen either.
            if (h < 0) break;
            var stats = adjusted.Context(k, h);
            if (stats.Total == 0) continue; // seen, but never followed by anything: γ = 1
            int ngram = trie.Find(k, h, word);
            long a = ngram < 0 ? 0 : adjusted.Of(k, ngram);
            p = Math.Max(a - discounts[k].For(a), 0) / stats.Total + gammas[k][h] * p;
        }
        return p;
    }

    /// <summary>γ of n-gram <paramref name="ngram"/> of <paramref name="order"/> as a context: its ARPA backoff weight.</summary>
    internal double BackoffWeight(int order, int ngram) => gammas[order + 1][ngram];

    double Gamma(ContextStatistics context, KneserNeyDiscounts d)
    {
        if (context.Total == 0) return 1;
        double reserved = Variant == KneserNeyVariant.Plain
            ? d.D1 * context.RawFollowers
            : d.D1 * context.N1 + d.D2 * context.N2 + d.D3Plus * context.N3Plus;
        return reserved / context.Total;
    }
}
