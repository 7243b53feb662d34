namespace SharpLM.Modeling.NGram;

/// <summary>
/// A backoff n-gram model as an ARPA file states it: a probability for every listed n-gram and a backoff weight for
/// every listed context, with
/// <code>
/// P(w | h) = p(h w)                 if h w is listed
///          = bow(h) · P(w | h′)     otherwise (bow = 1 when h itself is not listed)
/// </code>
/// the rule KenLM and SRILM query with. Built by <see cref="ArpaFormat.Read"/>.
/// </summary>
public sealed class BackoffModel : NGramLanguageModel
{
    readonly NGramTrie trie;
    readonly double[][] probabilities, backoffs; // [order][n-gram], linear scale

    internal BackoffModel(NGramVocabulary vocabulary, NGramTrie trie, double[][] probabilities, double[][] backoffs,
        NGramTokenization tokenization, SentencePadding padding)
        : base(vocabulary, trie.Order, tokenization, padding)
    {
        this.trie = trie;
        this.probabilities = probabilities;
        this.backoffs = backoffs;
    }

    internal override double Probability(ReadOnlySpan<int> context, int word)
    {
        if (context.Length > Order - 1) context = context[^(Order - 1)..];
        double backoff = 1;
        for (int j = context.Length; j >= 0; j--)
        {
            int h = trie.Find(context[^j..]);
            if (h < 0) continue;
            int ngram = trie.Find(j + 1, h, word);
            if (ngram >= 0) return backoff * probabilities[j + 1][ngram];
            if (j > 0) backoff *= backoffs[j][h];
        }
        return 0; // not even a unigram: the word has no probability in this file
    }
}
