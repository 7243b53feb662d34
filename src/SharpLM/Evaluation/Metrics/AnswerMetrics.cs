using System.Text;
using System.Text.RegularExpressions;

namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// Exact match and token F1 of a predicted answer, as the official SQuAD v1.1 evaluation script
/// (<c>evaluate-v1.1.py</c>): both sides are normalised, and with several gold answers the best score counts
/// (<c>metric_max_over_ground_truths</c>).
/// </summary>
public static partial class AnswerMetrics
{
    // Python's string.punctuation: ASCII punctuation only, so curly quotes and other Unicode punctuation stay.
    private const string AsciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    /// <summary>
    /// <c>normalize_answer</c>: lowercase, remove ASCII punctuation, replace the words a/an/the by a space, then
    /// collapse whitespace — in that order, so "the-end" loses its hyphen first and becomes "theend", not "end".
    /// </summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var noPunctuation = new StringBuilder(text.Length);
        foreach (char c in text.ToLowerInvariant())
            if (!AsciiPunctuation.Contains(c)) noPunctuation.Append(c);
        string noArticles = Articles().Replace(noPunctuation.ToString(), " ");
        return string.Join(' ', Tokens(noArticles));
    }

    /// <summary>1 when the normalised prediction equals the normalised gold answer, else 0.</summary>
    public static double ExactMatch(string prediction, string goldAnswer) =>
        Normalize(prediction) == Normalize(goldAnswer) ? 1 : 0;

    /// <summary>
    /// <c>f1_score</c>: harmonic mean of token precision and recall, tokens counted with multiplicity (a bag-of-words
    /// overlap); 0 when nothing overlaps, including when either side normalises to nothing.
    /// </summary>
    public static double F1(string prediction, string goldAnswer)
    {
        List<string> predicted = Tokens(Normalize(prediction));
        List<string> gold = Tokens(Normalize(goldAnswer));
        var goldCounts = gold.CountBy(t => t).ToDictionary();
        int same = 0;
        foreach (string token in predicted)
        {
            if (goldCounts.GetValueOrDefault(token) > 0)
            {
                same++;
                goldCounts[token]--;
            }
        }
        if (same == 0) return 0;
        double precision = (double)same / predicted.Count, recall = (double)same / gold.Count;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>The best exact match over the gold answers.</summary>
    public static double ExactMatch(string prediction, IEnumerable<string> goldAnswers) =>
        MaxOverGold(prediction, goldAnswers, ExactMatch);

    /// <summary>The best F1 over the gold answers.</summary>
    public static double F1(string prediction, IEnumerable<string> goldAnswers) =>
        MaxOverGold(prediction, goldAnswers, F1);

    private static double MaxOverGold(string prediction, IEnumerable<string> goldAnswers,
        Func<string, string, double> metric)
    {
        ArgumentNullException.ThrowIfNull(goldAnswers);
        var scores = goldAnswers.Select(gold => metric(prediction, gold)).ToList();
        // Python's max() of an empty list raises; an answer cannot be scored against no gold answers.
        if (scores.Count == 0) throw new ArgumentException("at least one gold answer is needed", nameof(goldAnswers));
        return scores.Max();
    }

    /// <summary>Python's <c>str.split()</c>: runs of whitespace separate, and no empty strings result.</summary>
    private static List<string> Tokens(string text)
    {
        var tokens = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool separator = i == text.Length || PythonText.IsSpace(text[i]);
            if (!separator && start < 0) start = i;
            else if (separator && start >= 0)
            {
                tokens.Add(text[start..i]);
                start = -1;
            }
        }
        return tokens;
    }


    [GeneratedRegex(@"\b(a|an|the)\b", RegexOptions.CultureInvariant)]
    private static partial Regex Articles();
}
