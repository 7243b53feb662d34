namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// The default tokenizer of Google's <c>rouge_score</c> (<c>tokenize.py</c>), which mimics ROUGE-1.5.5: lowercase,
/// treat every character outside [a-z0-9] as a separator, and optionally Porter-stem tokens longer than three
/// characters (<c>-m</c> in ROUGE-1.5.5). Text in other scripts therefore yields no tokens at all; pass
/// <see cref="RougeScorer"/> a tokenizer of your own for it.
/// </summary>
public sealed class RougeTokenizer(bool useStemmer = false)
{
    /// <summary>Whether tokens longer than three characters are Porter-stemmed.</summary>
    public bool UseStemmer { get; } = useStemmer;

    /// <summary>The lowercased runs of [a-z0-9] in <paramref name="text"/>, stemmed when <see cref="UseStemmer"/>.</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // rouge_score lowercases before it filters, so non-ASCII capitals that lowercase to ASCII (the Kelvin
        // sign K, dotted İ) become token characters, as they do there.
        string lower = text.ToLowerInvariant();
        var tokens = new List<string>();
        int start = -1;
        for (int i = 0; i <= lower.Length; i++)
        {
            bool inToken = i < lower.Length && (char.IsAsciiLetterLower(lower[i]) || char.IsAsciiDigit(lower[i]));
            if (inToken && start < 0) start = i;
            else if (!inToken && start >= 0)
            {
                tokens.Add(Finish(lower[start..i]));
                start = -1;
            }
        }
        return tokens;
    }

    // rouge_score stems only tokens of more than three characters. (Its final check that tokens match
    // ^[a-z0-9]+$ never drops a stem: Porter only removes suffixes from, or adds letters to, a non-empty stem.)
    private string Finish(string token) => UseStemmer && token.Length > 3 ? PorterStemmer.Stem(token) : token;
}
