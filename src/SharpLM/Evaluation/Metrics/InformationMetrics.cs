using System.Text;

namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// Perplexity and bits per byte or character from a total natural-log likelihood (the sum of ln p over every scored
/// token, so ≤ 0) and a count of what it covers, as lm-evaluation-harness reports for <c>loglikelihood_rolling</c>
/// tasks. For a corpus pass the sums over its documents: lm-eval's <c>weighted_perplexity</c> and
/// <c>bits_per_byte</c> are ratios of sums, not means of per-document values. Counts are doubles so that such sums,
/// kept beside per-document scores, can be passed as they are.
/// </summary>
public static class InformationMetrics
{
    /// <summary>exp(−logLikelihood / count): per token with a token count, per word with a word count.</summary>
    public static double Perplexity(double logLikelihood, double count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return Math.Exp(-logLikelihood / count);
    }

    /// <summary>lm-eval's <c>word_perplexity</c> of one text, its words counted by <see cref="CountWords"/>.</summary>
    public static double WordPerplexity(double logLikelihood, string text) =>
        Perplexity(logLikelihood, CountWords(text));

    /// <summary>−logLikelihood / bytes / ln 2: comparable across tokenizers, unlike per-token perplexity.</summary>
    public static double BitsPerByte(double logLikelihood, double bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        return -logLikelihood / bytes / Math.Log(2);
    }

    /// <summary>lm-eval's <c>bits_per_byte</c> of one text, its bytes counted in UTF-8.</summary>
    public static double BitsPerByte(double logLikelihood, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return BitsPerByte(logLikelihood, Encoding.UTF8.GetByteCount(text));
    }

    /// <summary>−logLikelihood / characters / ln 2, the unit of character-level language modelling.</summary>
    public static double BitsPerCharacter(double logLikelihood, double characters)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(characters);
        return -logLikelihood / characters / Math.Log(2);
    }

    /// <summary>Bits per character of one text, characters being Unicode code points (Python's <c>len</c>), so
    /// an emoji is one character, not two UTF-16 units.</summary>
    public static double BitsPerCharacter(double logLikelihood, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return BitsPerCharacter(logLikelihood, text.EnumerateRunes().Count());
    }

    /// <summary>
    /// lm-eval's <c>count_words</c>, <c>len(re.split(r"\s+", doc))</c>: one more than the number of whitespace
    /// runs. Leading or trailing whitespace therefore adds a word (an empty piece), as it does there.
    /// </summary>
    public static int CountWords(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int pieces = 1;
        for (int i = 0; i < text.Length; i++)
            if (PythonText.IsSpace(text[i]) && (i == 0 || !PythonText.IsSpace(text[i - 1]))) pieces++;
        return pieces;
    }

}
