namespace SharpLM.Modeling.NGram;

/// <summary>What Kneser-Ney needs to know about one context h at one order: sums over the words w that follow it.</summary>
/// <param name="Total">Σ_w a(h w), the denominator of every probability in this context.</param>
/// <param name="RawFollowers">Words with a raw count c(h w) &gt; 0 (NLTK's interpolation weight counts these).</param>
/// <param name="N1">Words with adjusted count a(h w) = 1.</param>
/// <param name="N2">Words with a(h w) = 2.</param>
/// <param name="N3Plus">Words with a(h w) ≥ 3.</param>
internal readonly record struct ContextStatistics(long Total, int RawFollowers, int N1, int N2, int N3Plus);

/// <summary>
/// Kneser-Ney's adjusted counts a(g) (KenLM's term; Chen &amp; Goodman's continuation counts): the raw count for an
/// n-gram of the highest order, and for lower orders the number of distinct words that precede it,
/// N1+(• g) = |{v : c(v g) &gt; 0}| — a lower order is only consulted when the longer context failed, so what
/// matters there is how many contexts a word completes, not how often it occurs. Under KenLM padding an n-gram
/// beginning with <c>&lt;s&gt;</c> keeps its raw count, since nothing can precede it (see <see cref="SentencePadding"/>).
/// Also sums these per context (<see cref="ContextStatistics"/>) and per order (the count-of-counts n1..n4).
/// </summary>
internal sealed class AdjustedCounts
{
    readonly long[][] adjusted;            // [order][n-gram]
    readonly ContextStatistics[][] contexts; // [order][context n-gram of order − 1]
    readonly long[][] countOfCounts;       // [order][r] = number of n-grams with a = r, r = 0..4

    public AdjustedCounts(NGramCounts counts)
    {
        var trie = counts.Trie;
        int order = counts.Order;
        bool rawAtStart = counts.Padding.RawCountsAtSentenceStart();
        adjusted = new long[order + 1][];
        contexts = new ContextStatistics[order + 1][];
        countOfCounts = new long[order + 1][];

        // Each counted (k+1)-gram v·g adds one distinct left neighbour v to its suffix g; raw n-grams take their count.
        int[] suffixOfPrevious = [];
        for (int k = 1; k <= order; k++)
        {
            adjusted[k] = new long[trie.Count(k)];
            var suffix = new int[trie.Count(k)];
            for (int id = 0; id < suffix.Length; id++)
            {
                if (k == order || (rawAtStart && FirstWord(trie, k, id) == NGramVocabulary.SentenceStartId))
                    adjusted[k][id] = counts.Count(k, id);
                if (k == 1) continue;
                suffix[id] = trie.Find(k - 1, suffixOfPrevious[trie.Prefix(k, id)], trie.Word(k, id));
                int lower = suffix[id];
                bool lowerIsRaw = rawAtStart && FirstWord(trie, k - 1, lower) == NGramVocabulary.SentenceStartId;
                if (counts.Count(k, id) > 0 && !lowerIsRaw) adjusted[k - 1][lower]++;
            }
            suffixOfPrevious = suffix;
        }

        for (int k = 1; k <= order; k++)
        {
            var stats = new ContextStatistics[trie.Count(k - 1)];
            countOfCounts[k] = new long[5];
            for (int id = 0; id < adjusted[k].Length; id++)
            {
                long a = adjusted[k][id];
                int context = trie.Prefix(k, id);
                var s = stats[context];
                stats[context] = new ContextStatistics(
                    s.Total + a,
                    s.RawFollowers + (counts.Count(k, id) > 0 ? 1 : 0),
                    s.N1 + (a == 1 ? 1 : 0),
                    s.N2 + (a == 2 ? 1 : 0),
                    s.N3Plus + (a >= 3 ? 1 : 0));
                if (a <= 4) countOfCounts[k][a]++;
            }
            contexts[k] = stats;
        }
    }

    /// <summary>a(g) for n-gram <paramref name="id"/> of <paramref name="order"/>.</summary>
    public long Of(int order, int id) => adjusted[order][id];

    /// <summary>Sums over the words following context n-gram <paramref name="context"/> (of order − 1) at <paramref name="order"/>.</summary>
    public ContextStatistics Context(int order, int context) => contexts[order][context];

    /// <summary>n_r: how many n-grams of <paramref name="order"/> have adjusted count r, for r = 0..4.</summary>
    public IReadOnlyList<long> CountOfCounts(int order) => countOfCounts[order];

    static int FirstWord(NGramTrie trie, int order, int id)
    {
        for (int k = order; k > 1; k--) id = trie.Prefix(k, id);
        return trie.Word(1, id);
    }
}
