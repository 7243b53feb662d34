namespace SharpLM.Modeling.NGram;

/// <summary>
/// Raw counts of every n-gram of orders 1..<see cref="Order"/> in a stream of sentences, each sentence padded with
/// sentence markers as <see cref="Padding"/> says and its tokens mapped through <see cref="Vocabulary"/>.
/// Sentences are added one at a time, so a corpus is read line by line and never held whole; memory grows with the
/// number of distinct n-grams only. A model built on these counts freezes them: add every sentence first.
/// </summary>
public sealed class NGramCounts
{
    readonly List<long>[] counts;
    bool frozen;

    /// <summary>Empty counts of orders 1..<paramref name="order"/> over <paramref name="vocabulary"/>; add sentences with <see cref="AddLine"/> or <see cref="AddSentence"/>.</summary>
    public NGramCounts(NGramVocabulary vocabulary, int order,
        NGramTokenization tokenization = NGramTokenization.Words, SentencePadding padding = SentencePadding.KenLm)
    {
        Vocabulary = vocabulary;
        Order = order;
        Tokenization = tokenization;
        Padding = padding;
        Trie = new NGramTrie(order);
        counts = new List<long>[order + 1];
        for (int k = 1; k <= order; k++) counts[k] = new List<long>();
    }

    /// <summary>
    /// Counts of a text file, read twice line by line: once for the vocabulary (tokens seen at least
    /// <paramref name="minCount"/> times; the rest become <c>&lt;unk&gt;</c>), once for the n-grams.
    /// </summary>
    public static NGramCounts FromFile(string path, int order, NGramTokenization tokenization,
        int minCount = 1, SentencePadding padding = SentencePadding.KenLm)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "no such file");
        return FromLines(() => File.ReadLines(path), order, tokenization, minCount, padding);
    }

    /// <summary>Counts of in-memory lines, with the vocabulary rule of <see cref="FromFile"/>.</summary>
    public static NGramCounts FromLines(IEnumerable<string> lines, int order, NGramTokenization tokenization,
        int minCount = 1, SentencePadding padding = SentencePadding.KenLm) =>
        FromLines(() => lines, order, tokenization, minCount, padding);

    static NGramCounts FromLines(Func<IEnumerable<string>> lines, int order, NGramTokenization tokenization,
        int minCount, SentencePadding padding)
    {
        var vocabulary = NGramVocabulary.FromSentences(lines().Select(l => NGramTokenizer.Tokenize(l, tokenization)), minCount);
        var result = new NGramCounts(vocabulary, order, tokenization, padding);
        foreach (string line in lines()) result.AddLine(line);
        return result;
    }

    /// <summary>The token types counted; tokens outside it are counted as <c>&lt;unk&gt;</c>.</summary>
    public NGramVocabulary Vocabulary { get; }

    /// <summary>The highest n-gram order counted, N.</summary>
    public int Order { get; }

    /// <summary>How lines are split into tokens by <see cref="AddLine"/> and by models scoring text.</summary>
    public NGramTokenization Tokenization { get; }

    /// <summary>How each sentence is bracketed with <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c> before counting.</summary>
    public SentencePadding Padding { get; }

    internal NGramTrie Trie { get; }

    /// <summary>Counts one line, tokenised as <see cref="Tokenization"/> says.</summary>
    public void AddLine(string line) => AddSentence(NGramTokenizer.Tokenize(line, Tokenization));

    /// <summary>Counts every n-gram of orders 1..N of the padded sentence.</summary>
    public void AddSentence(IReadOnlyList<string> tokens)
    {
        if (frozen) throw new InvalidOperationException("These counts already back a model; add every sentence before building one.");
        int[] ids = Padding.Pad(Vocabulary, tokens, Order);
        int firstCountedEnd = Padding.FirstCountedEnd();
        for (int start = 0; start < ids.Length; start++)
        {
            // Walking forward from each start extends the previous n-gram by one word: one hash lookup per n-gram.
            int node = NGramTrie.Root;
            for (int k = 1; k <= Order && start + k <= ids.Length; k++)
            {
                node = Trie.GetOrAdd(k, node, ids[start + k - 1]);
                if (node == counts[k].Count) counts[k].Add(0);
                // The KenLM <s> unigram gets a node, as the prefix of every sentence-initial n-gram, but no count.
                if (start + k - 1 >= firstCountedEnd) counts[k][node]++;
            }
        }
    }

    /// <summary>How many times <paramref name="ngram"/> (tokens, oldest first; unknown ones read as <c>&lt;unk&gt;</c>) was counted.</summary>
    public long Count(IReadOnlyList<string> ngram)
    {
        if (ngram.Count < 1 || ngram.Count > Order) throw new ArgumentOutOfRangeException(nameof(ngram), $"An n-gram has 1 to {Order} tokens.");
        int id = Trie.Find(ngram.Select(Vocabulary.Id).ToArray());
        return id < 0 ? 0 : counts[ngram.Count][id];
    }

    /// <summary>Number of distinct n-grams of <paramref name="order"/> that were counted at least once.</summary>
    public int Types(int order) => counts[order].Count(c => c > 0);

    /// <summary>Raw count of n-gram <paramref name="id"/> of <paramref name="order"/>.</summary>
    internal long Count(int order, int id) => counts[order][id];

    /// <summary>Stops further counting: models keep arrays indexed by n-gram number.</summary>
    internal void Freeze() => frozen = true;
}
