namespace SharpLM.Modeling.NGram;

/// <summary>
/// The distinct n-grams of orders 1..N, numbered 0, 1, … within each order. An n-gram of order k is stored as the
/// pair (number of its (k−1)-word prefix, last word id) in one hash table per order, so the whole set costs a few
/// integers per n-gram and no per-n-gram allocation. The empty n-gram is <see cref="Root"/>, the prefix of every
/// unigram.
/// </summary>
internal sealed class NGramTrie
{
    public const int Root = 0;

    readonly Dictionary<long, int>[] index;
    readonly List<int>[] prefixes, words;

    public NGramTrie(int order)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(order, 1);
        Order = order;
        index = new Dictionary<long, int>[order + 1];
        prefixes = new List<int>[order + 1];
        words = new List<int>[order + 1];
        for (int k = 1; k <= order; k++) (index[k], prefixes[k], words[k]) = (new(), new(), new());
    }

    public int Order { get; }

    /// <summary>Number of distinct n-grams of order <paramref name="order"/> (1 for order 0, the root).</summary>
    public int Count(int order) => order == 0 ? 1 : words[order].Count;

    /// <summary>The number of the n-gram (prefix, word) of <paramref name="order"/>, adding it if new.</summary>
    public int GetOrAdd(int order, int prefix, int word)
    {
        long key = Key(prefix, word);
        if (index[order].TryGetValue(key, out int id)) return id;
        id = words[order].Count;
        index[order].Add(key, id);
        prefixes[order].Add(prefix);
        words[order].Add(word);
        return id;
    }

    /// <summary>The number of the n-gram (prefix, word) of <paramref name="order"/>, or −1.</summary>
    public int Find(int order, int prefix, int word) => index[order].TryGetValue(Key(prefix, word), out int id) ? id : -1;

    /// <summary>The number of the n-gram spelled by <paramref name="ngram"/> (<see cref="Root"/> when empty), or −1.</summary>
    public int Find(ReadOnlySpan<int> ngram)
    {
        int id = Root;
        for (int k = 1; k <= ngram.Length && id >= 0; k++) id = Find(k, id, ngram[k - 1]);
        return id;
    }

    public int Prefix(int order, int id) => prefixes[order][id];

    public int Word(int order, int id) => words[order][id];

    /// <summary>The word ids of n-gram <paramref name="id"/> of <paramref name="order"/>, oldest first.</summary>
    public int[] Spell(int order, int id)
    {
        var ngram = new int[order];
        for (int k = order; k >= 1; k--)
        {
            ngram[k - 1] = words[k][id];
            id = prefixes[k][id];
        }
        return ngram;
    }

    static long Key(int prefix, int word) => ((long)prefix << 32) | (uint)word;
}
