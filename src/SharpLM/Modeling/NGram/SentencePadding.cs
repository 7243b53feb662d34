namespace SharpLM.Modeling.NGram;

/// <summary>
/// How sentences are bracketed with <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c> before counting and scoring.
/// </summary>
public enum SentencePadding
{
    /// <summary>
    /// KenLM's and SRILM's convention, the default: one <c>&lt;s&gt;</c> before the sentence and one
    /// <c>&lt;/s&gt;</c> after it. <c>&lt;s&gt;</c> is only ever a context, never predicted (ARPA gives it log10
    /// probability -99), and an n-gram that begins with <c>&lt;s&gt;</c> keeps its raw count at lower orders
    /// because nothing can precede it to give it a continuation count (KenLM's adjusted counts).
    /// </summary>
    KenLm,

    /// <summary>
    /// NLTK's <c>padded_everygram_pipeline(n, …)</c>: n−1 <c>&lt;s&gt;</c> before and n−1 <c>&lt;/s&gt;</c>
    /// after, every n-gram of orders 1..n of the padded sequence counted (so <c>(&lt;s&gt;, &lt;s&gt;)</c> and
    /// <c>(&lt;/s&gt;, &lt;/s&gt;)</c> are events too), and continuation counts for every lower-order n-gram.
    /// Scoring predicts each word and the n−1 end markers from the previous n−1 tokens, as NLTK's
    /// <c>perplexity(ngrams(pad_both_ends(sentence, n), n))</c> does.
    /// </summary>
    Nltk,
}

/// <summary>The rules each <see cref="SentencePadding"/> implies, in one place.</summary>
internal static class SentencePaddingRules
{
    /// <summary>Number of <c>&lt;s&gt;</c> tokens put before a sentence for a model of <paramref name="order"/>.</summary>
    public static int StartMarkers(this SentencePadding padding, int order) => padding == SentencePadding.Nltk ? order - 1 : 1;

    /// <summary>Number of <c>&lt;/s&gt;</c> tokens put after a sentence.</summary>
    public static int EndMarkers(this SentencePadding padding, int order) => padding == SentencePadding.Nltk ? order - 1 : 1;

    /// <summary>
    /// Position of the first counted n-gram end in a padded sentence: NLTK counts every everygram, including
    /// <c>(&lt;s&gt;)</c>; KenLM never counts an n-gram that ends in the start marker.
    /// </summary>
    public static int FirstCountedEnd(this SentencePadding padding) => padding == SentencePadding.Nltk ? 0 : 1;

    /// <summary>Whether lower-order n-grams beginning with <c>&lt;s&gt;</c> keep raw counts (KenLM) or take continuation counts like all others (NLTK).</summary>
    public static bool RawCountsAtSentenceStart(this SentencePadding padding) => padding == SentencePadding.KenLm;

    /// <summary>Vocabulary ids of a sentence with its markers.</summary>
    public static int[] Pad(this SentencePadding padding, NGramVocabulary vocabulary, IReadOnlyList<string> tokens, int order)
    {
        int starts = padding.StartMarkers(order), ends = padding.EndMarkers(order);
        var ids = new int[starts + tokens.Count + ends];
        Array.Fill(ids, NGramVocabulary.SentenceStartId, 0, starts);
        for (int i = 0; i < tokens.Count; i++) ids[starts + i] = vocabulary.Id(tokens[i]);
        Array.Fill(ids, NGramVocabulary.SentenceEndId, starts + tokens.Count, ends);
        return ids;
    }
}
