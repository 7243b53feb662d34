using System.Text;

namespace SharpLM.Data.Cleaning;

/// <summary>
/// A character n-gram language model with interpolated Witten-Bell smoothing, small enough to train on a
/// reference corpus in seconds and used to score documents (CCNet scores with a KenLM model on a
/// high-quality reference such as Wikipedia: text unlike the reference gets high perplexity). Characters are
/// code points; the vocabulary is the reference's plus one unknown symbol.
/// </summary>
public sealed class CharNGramModel
{
    readonly int order;
    // context (up to order−1 code points, as a string) → (next code point → count)
    readonly Dictionary<string, Dictionary<int, int>> counts = new();
    readonly Dictionary<string, int> totals = new();
    readonly HashSet<int> vocabulary = new();

    /// <summary>An empty model that conditions each character on up to <paramref name="order"/> − 1 preceding characters.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="order"/> is below 1.</exception>
    public CharNGramModel(int order = 5)
    {
        if (order < 1) throw new ArgumentOutOfRangeException(nameof(order));
        this.order = order;
    }

    /// <summary>Adds the character n-gram counts of <paramref name="text"/>; call once per reference document.</summary>
    public void Train(string text)
    {
        var runes = Runes(text);
        for (int i = 0; i < runes.Count; i++)
        {
            vocabulary.Add(runes[i]);
            for (int n = 0; n < order && n <= i; n++)
            {
                string context = Context(runes, i, n);
                if (!counts.TryGetValue(context, out var next)) counts[context] = next = new Dictionary<int, int>();
                next[runes[i]] = next.GetValueOrDefault(runes[i]) + 1;
                totals[context] = totals.GetValueOrDefault(context) + 1;
            }
        }
    }

    /// <summary>Per-character perplexity of <paramref name="text"/>.</summary>
    public double Perplexity(string text)
    {
        var runes = Runes(text);
        if (runes.Count == 0) return double.PositiveInfinity;
        double logProb = 0;
        for (int i = 0; i < runes.Count; i++) logProb += Math.Log(Probability(runes, i));
        return Math.Exp(-logProb / runes.Count);
    }

    /// <summary>Witten-Bell: P(c | h) = (C(h c) + T(h) · P(c | h')) / (C(h) + T(h)), T(h) = distinct followers of h.</summary>
    double Probability(List<int> runes, int i)
    {
        double p = 1.0 / (vocabulary.Count + 1); // uniform base, with room for one unknown symbol
        for (int n = 0; n < order && n <= i; n++)
        {
            string context = Context(runes, i, n);
            if (!counts.TryGetValue(context, out var next)) break; // longer contexts are unseen too
            int total = totals[context], types = next.Count;
            p = (next.GetValueOrDefault(runes[i]) + types * p) / (total + types);
        }
        return p;
    }

    static string Context(List<int> runes, int i, int n)
    {
        var sb = new StringBuilder(n * 2);
        for (int k = i - n; k < i; k++) sb.Append(char.ConvertFromUtf32(runes[k]));
        return sb.ToString();
    }

    static List<int> Runes(string text)
    {
        var list = new List<int>(text.Length);
        foreach (Rune r in text.EnumerateRunes()) list.Add(r.Value);
        return list;
    }
}

/// <summary>
/// CCNet-style perplexity filter: keeps documents whose perplexity under a reference model falls inside a
/// percentile band of a calibration sample (for example the head, 0–33%, is the text most like the reference).
/// </summary>
public sealed class PerplexityFilter : IDocumentFilter
{
    readonly CharNGramModel model;

    /// <summary>
    /// Scores <paramref name="calibration"/> with <paramref name="model"/> and sets the band to the perplexities at the
    /// two percentiles (0 and 100 leave that side open).
    /// </summary>
    /// <param name="model">The reference model that scores every document.</param>
    /// <param name="calibration">Texts whose perplexities set the band, e.g. a sample from the head of the corpus.</param>
    /// <param name="minPercentile">Lower edge of the band, 0–100.</param>
    /// <param name="maxPercentile">Upper edge of the band, 0–100, above <paramref name="minPercentile"/>.</param>
    /// <exception cref="InvalidInputException">The band is empty or outside 0–100, or no calibration text has a finite perplexity.</exception>
    public PerplexityFilter(CharNGramModel model, IEnumerable<string> calibration, double minPercentile, double maxPercentile)
    {
        if (minPercentile < 0 || maxPercentile > 100 || minPercentile >= maxPercentile)
            throw new InvalidInputException($"perplexity filter: percentile band {minPercentile}–{maxPercentile} must lie in 0–100 and be non-empty");
        this.model = model;
        var scores = calibration.Select(model.Perplexity).Where(double.IsFinite).OrderBy(s => s).ToArray();
        if (scores.Length == 0) throw new InvalidInputException("perplexity filter: the calibration sample is empty");
        Low = minPercentile == 0 ? double.NegativeInfinity : Percentile(scores, minPercentile);
        High = maxPercentile == 100 ? double.PositiveInfinity : Percentile(scores, maxPercentile);
    }

    /// <summary>Lowest perplexity kept; negative infinity when the band starts at the 0th percentile.</summary>
    public double Low { get; }
    /// <summary>Highest perplexity kept; positive infinity when the band ends at the 100th percentile.</summary>
    public double High { get; }
    /// <summary>"perplexity", the name reports use.</summary>
    public string Name => "perplexity";

    /// <summary>Keeps the document unchanged, or rejects it as "perplexity_below_band" or "perplexity_above_band".</summary>
    public FilterResult Apply(Document document)
    {
        double ppl = model.Perplexity(document.Text);
        if (ppl < Low) return FilterResult.Reject("perplexity_below_band");
        if (!(ppl <= High)) return FilterResult.Reject("perplexity_above_band");
        return FilterResult.Keep(document);
    }

    static double Percentile(double[] sorted, double p)
    {
        double rank = p / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
    }
}
