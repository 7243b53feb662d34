using System.Text;
using System.Text.RegularExpressions;

namespace SharpLM.Evaluation.Metrics;

/// <summary>Precision, recall and F-measure of one ROUGE type (rouge_score's <c>scoring.Score</c>).</summary>
public sealed record RougeScore(double Precision, double Recall, double FMeasure)
{
    /// <summary>All three measures 0: the score when the prediction or the target has no tokens.</summary>
    public static RougeScore Zero { get; } = new(0, 0, 0);

    /// <summary>rouge_score's <c>scoring.fmeasure</c>: the harmonic mean, 0 when precision and recall are both
    /// 0.</summary>
    public static RougeScore FromPrecisionRecall(double precision, double recall) =>
        new(precision, recall, precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0);
}

/// <summary>
/// ROUGE-N (rouge1 … rouge9), ROUGE-L and ROUGE-Lsum exactly as Google's <c>rouge_score</c> package
/// (<c>rouge_scorer.py</c>), whose defaults match <c>ROUGE-1.5.5.pl -e data -n 2</c> (and <c>-m</c> with the
/// stemmer). Precision is over the prediction, recall over the target. rougeL is the LCS of the whole token
/// sequences; rougeLsum splits both texts into sentences on newlines and scores the summary-level union LCS, so
/// put one sentence per line (rouge_score's optional nltk sentence splitting is not provided).
/// </summary>
public sealed partial class RougeScorer
{
    private readonly string[] _rougeTypes;
    private readonly Func<string, IReadOnlyList<string>> _tokenize;

    /// <param name="rougeTypes">"rouge1" … "rouge9", "rougeL", "rougeLsum".</param>
    /// <param name="useStemmer">Porter-stem tokens longer than three characters (ignored with a custom
    /// tokenizer).</param>
    /// <param name="tokenizer">Replaces <see cref="RougeTokenizer"/>, e.g. for text outside [a-z0-9].</param>
    public RougeScorer(IEnumerable<string> rougeTypes, bool useStemmer = false,
        Func<string, IReadOnlyList<string>>? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(rougeTypes);
        _rougeTypes = rougeTypes.ToArray();
        foreach (string type in _rougeTypes)
            if (type is not ("rougeL" or "rougeLsum") && !RougeNPattern().IsMatch(type))
                throw new ArgumentException(
                    $"invalid ROUGE type '{type}': expected rouge1 … rouge9, rougeL or rougeLsum",
                    nameof(rougeTypes));
        _tokenize = tokenizer ?? new RougeTokenizer(useStemmer).Tokenize;
    }

    /// <summary>The ROUGE types scored, as given to the constructor.</summary>
    public IReadOnlyList<string> RougeTypes => _rougeTypes;

    /// <summary>Scores a prediction against one target, one <see cref="RougeScore"/> per ROUGE type.</summary>
    public IReadOnlyDictionary<string, RougeScore> Score(string target, string prediction)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(prediction);
        // Whole-text tokens are only needed by rougeN and rougeL (rouge_score also skips them for rougeLsum alone).
        var targetTokens = new Lazy<IReadOnlyList<string>>(() => _tokenize(target));
        var predictionTokens = new Lazy<IReadOnlyList<string>>(() => _tokenize(prediction));
        var result = new Dictionary<string, RougeScore>();
        foreach (string type in _rougeTypes)
        {
            result[type] = type switch
            {
                "rougeL" => RougeLcs.SentenceLevel(targetTokens.Value, predictionTokens.Value),
                "rougeLsum" => RougeLcs.SummaryLevel(SentenceTokens(target), SentenceTokens(prediction)),
                _ => ScoreNGrams(targetTokens.Value, predictionTokens.Value, type[5] - '0'),
            };
        }
        return result;
    }

    /// <summary>
    /// rouge_score's <c>score_multi</c>: scores against every target and keeps, for each ROUGE type separately, the
    /// score of the target with the highest F-measure (the first one on ties, as numpy's argmax).
    /// </summary>
    public IReadOnlyDictionary<string, RougeScore> ScoreMulti(IEnumerable<string> targets, string prediction)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var perTarget = targets.Select(t => Score(t, prediction)).ToList();
        if (perTarget.Count == 0) throw new ArgumentException("score_multi needs at least one target", nameof(targets));
        var best = new Dictionary<string, RougeScore>();
        foreach (string type in _rougeTypes)
        {
            RougeScore max = perTarget[0][type];
            foreach (var scores in perTarget.Skip(1))
                if (scores[type].FMeasure > max.FMeasure) max = scores[type];
            best[type] = max;
        }
        return best;
    }

    /// <summary>rougeLsum's sentences: the text split on '\n', empty lines dropped, each tokenized.</summary>
    private List<IReadOnlyList<string>> SentenceTokens(string text) =>
        text.Split('\n').Where(s => s.Length > 0).Select(_tokenize).ToList();

    /// <summary>Clipped n-gram overlap; precision and recall divide by at least 1, as rouge_score does.</summary>
    private static RougeScore ScoreNGrams(IReadOnlyList<string> target, IReadOnlyList<string> prediction, int n)
    {
        var targetNGrams = CountNGrams(target, n);
        var predictionNGrams = CountNGrams(prediction, n);
        int overlap = targetNGrams.Sum(kv => Math.Min(kv.Value, predictionNGrams.GetValueOrDefault(kv.Key)));
        return RougeScore.FromPrecisionRecall(
            (double)overlap / Math.Max(predictionNGrams.Values.Sum(), 1),
            (double)overlap / Math.Max(targetNGrams.Values.Sum(), 1));
    }

    private static Dictionary<string, int> CountNGrams(IReadOnlyList<string> tokens, int n)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var key = new StringBuilder();
        for (int i = 0; i + n <= tokens.Count; i++)
        {
            // Length-prefixed so that n-grams of a custom tokenizer's tokens (which may hold any character) never
            // collide.
            key.Clear();
            for (int j = i; j < i + n; j++) key.Append(tokens[j].Length).Append(':').Append(tokens[j]);
            string k = key.ToString();
            counts[k] = counts.GetValueOrDefault(k) + 1;
        }
        return counts;
    }

    [GeneratedRegex("^rouge[1-9]$")]
    private static partial Regex RougeNPattern();
}

/// <summary>The longest-common-subsequence parts of rouge_score (<c>_score_lcs</c>, <c>_summary_level_lcs</c> and
/// their helpers), generic so they can be checked on the integer sequences of its tests.</summary>
internal static class RougeLcs
{
    /// <summary><c>_score_lcs</c>: LCS length over prediction length (precision) and target length (recall).</summary>
    public static RougeScore SentenceLevel<T>(IReadOnlyList<T> target, IReadOnlyList<T> prediction)
    {
        if (target.Count == 0 || prediction.Count == 0) return RougeScore.Zero;
        int length = Length(target, prediction);
        return RougeScore.FromPrecisionRecall((double)length / prediction.Count, (double)length / target.Count);
    }

    /// <summary>
    /// <c>_summary_level_lcs</c> (section 3.2 of Lin 2004): for each reference sentence, the union of its LCS with
    /// every candidate sentence counts as hits, but each token is counted at most as often as it occurs in both
    /// summaries — ROUGE-1.5.5's guard against double counting, which the paper does not describe.
    /// </summary>
    public static RougeScore SummaryLevel<T>(IReadOnlyList<IReadOnlyList<T>> referenceSentences,
        IReadOnlyList<IReadOnlyList<T>> candidateSentences) where T : notnull
    {
        int m = referenceSentences.Sum(s => s.Count), n = candidateSentences.Sum(s => s.Count);
        if (m == 0 || n == 0) return RougeScore.Zero;
        var referenceCounts = Counts(referenceSentences);
        var candidateCounts = Counts(candidateSentences);
        int hits = 0;
        foreach (var reference in referenceSentences)
        {
            foreach (T token in UnionLcs(reference, candidateSentences))
            {
                if (candidateCounts.GetValueOrDefault(token) > 0 && referenceCounts.GetValueOrDefault(token) > 0)
                {
                    hits++;
                    candidateCounts[token]--;
                    referenceCounts[token]--;
                }
            }
        }
        return RougeScore.FromPrecisionRecall((double)hits / n, (double)hits / m);
    }

    /// <summary><c>_union_lcs</c>: the reference tokens at the union of the LCS positions found against each
    /// candidate sentence, in reference order.</summary>
    public static List<T> UnionLcs<T>(IReadOnlyList<T> reference, IEnumerable<IReadOnlyList<T>> candidates) =>
        FindUnion(candidates.Select(c => Indices(reference, c))).Select(i => reference[i]).ToList();

    /// <summary><c>_find_union</c>: the sorted union of index lists.</summary>
    public static List<int> FindUnion(IEnumerable<IEnumerable<int>> indexLists) =>
        indexLists.SelectMany(l => l).Distinct().Order().ToList();

    /// <summary><c>lcs_ind</c>: the reference positions of one LCS, read back from the table the way rouge_score
    /// does (on a tie it moves up a reference row), which decides which LCS is chosen when there are several.</summary>
    public static List<int> Indices<T>(IReadOnlyList<T> reference, IReadOnlyList<T> candidate)
    {
        int[,] t = Table(reference, candidate);
        var comparer = EqualityComparer<T>.Default;
        var indices = new List<int>();
        int i = reference.Count, j = candidate.Count;
        while (i > 0 && j > 0)
        {
            if (comparer.Equals(reference[i - 1], candidate[j - 1]))
            {
                indices.Add(i - 1);
                i--;
                j--;
            }
            else if (t[i, j - 1] > t[i - 1, j]) j--;
            else i--;
        }
        indices.Reverse();
        return indices;
    }

    /// <summary><c>_lcs_table</c>: t[i, j] is the LCS length of reference[..i] and candidate[..j].</summary>
    public static int[,] Table<T>(IReadOnlyList<T> reference, IReadOnlyList<T> candidate)
    {
        var comparer = EqualityComparer<T>.Default;
        var t = new int[reference.Count + 1, candidate.Count + 1];
        for (int i = 1; i <= reference.Count; i++)
            for (int j = 1; j <= candidate.Count; j++)
                t[i, j] = comparer.Equals(reference[i - 1], candidate[j - 1])
                    ? t[i - 1, j - 1] + 1
                    : Math.Max(t[i - 1, j], t[i, j - 1]);
        return t;
    }

    /// <summary>The LCS length alone, in two rows rather than the whole table, for long rougeL inputs.</summary>
    private static int Length<T>(IReadOnlyList<T> reference, IReadOnlyList<T> candidate)
    {
        var comparer = EqualityComparer<T>.Default;
        var previous = new int[candidate.Count + 1];
        var current = new int[candidate.Count + 1];
        foreach (T r in reference)
        {
            for (int j = 1; j <= candidate.Count; j++)
                current[j] = comparer.Equals(r, candidate[j - 1])
                    ? previous[j - 1] + 1
                    : Math.Max(previous[j], current[j - 1]);
            (previous, current) = (current, previous);
        }
        return previous[candidate.Count];
    }

    private static Dictionary<T, int> Counts<T>(IEnumerable<IReadOnlyList<T>> sentences) where T : notnull
    {
        var counts = new Dictionary<T, int>();
        foreach (var sentence in sentences)
            foreach (T token in sentence)
                counts[token] = counts.GetValueOrDefault(token) + 1;
        return counts;
    }
}
