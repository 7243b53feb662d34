using SharpLM.Modeling.NGram;

namespace SharpLM.Tests.Modeling.NGram;

/// <summary>Small texts for the n-gram tests, and a slow reference implementation to check the fast one against.</summary>
internal static class NGramTestCorpus
{
    public static readonly string[] Training =
    [
        "the cat sat on the mat and the dog sat on the log",
        "a cat saw the dog and the dog saw a cat",
        "the dog ran to the park and the cat ran to the house",
        "on the mat the cat slept while the dog watched the door",
        "the bird sang in the tree and the cat watched the bird",
        "",
        "a dog and a cat and a bird sat in the sun",
        "the sun set and the cat and the dog went to the house",
    ];

    public static readonly string[] HeldOut =
    [
        "the cat sat on the log",
        "a fox ran past the house and the dog barked",
        "",
        "the zebra slept in the sun",
    ];

    /// <summary>Contexts worth checking: every padded window of the training text, plus unseen and over-long ones.</summary>
    public static IEnumerable<string[]> Contexts(NGramCounts counts)
    {
        var seen = new HashSet<string>();
        foreach (string line in Training)
        {
            string[] tokens = ["<s>", .. NGramTokenizer.Tokenize(line, counts.Tokenization), "</s>"];
            for (int end = 0; end <= tokens.Length; end++)
                for (int length = 0; length < counts.Order && length <= end; length++)
                {
                    string[] context = tokens[(end - length)..end];
                    if (seen.Add(string.Join(' ', context))) yield return context;
                }
        }
        yield return ["<s>", "<s>"];
        yield return ["zebra", "xylophone"];
        yield return ["q", "q", "q", "q", "q", "q"];
        yield return ["the", "cat", "sat", "on", "the", "mat", "and"];
    }
}

/// <summary>
/// Chen &amp; Goodman's interpolated modified Kneser-Ney with KenLM padding, transcribed directly over strings with
/// linear scans and no shared code: slow, obviously faithful to the definitions, for small corpora only.
/// </summary>
internal sealed class NaiveModifiedKneserNey
{
    readonly int order;
    readonly NGramVocabulary vocabulary;
    readonly Dictionary<string, long> raw = new();
    readonly Dictionary<string, long> adjusted = new();
    readonly double[][] discounts;
    readonly double uniform;

    public NaiveModifiedKneserNey(IEnumerable<IReadOnlyList<string>> sentences, NGramVocabulary vocabulary, int order)
    {
        this.order = order;
        this.vocabulary = vocabulary;
        foreach (var sentence in sentences)
        {
            string[] padded = ["<s>", .. sentence.Select(Known), "</s>"];
            for (int end = 1; end < padded.Length; end++)
                for (int k = 1; k <= order && end - k + 1 >= 0; k++)
                {
                    string key = string.Join(' ', padded[(end - k + 1)..(end + 1)]);
                    raw[key] = raw.GetValueOrDefault(key) + 1;
                }
        }
        foreach (string g in raw.Keys)
        {
            int k = Length(g);
            adjusted[g] = k == order || g.StartsWith("<s>", StringComparison.Ordinal)
                ? raw[g]
                : raw.Keys.Count(longer => Length(longer) == k + 1 && longer.EndsWith(" " + g, StringComparison.Ordinal));
        }
        discounts = new double[order + 1][];
        for (int k = 1; k <= order; k++)
        {
            double[] n = Enumerable.Range(0, 5).Select(r => (double)adjusted.Count(e => Length(e.Key) == k && e.Value == r)).ToArray();
            double y = n[1] / (n[1] + 2 * n[2]);
            double[] d = [0, 1 - 2 * y * n[2] / n[1], 2 - 3 * y * n[3] / n[2], 3 - 4 * y * n[4] / n[3]];
            bool valid = Enumerable.Range(1, 3).All(r => d[r] >= 0 && d[r] <= r);
            discounts[k] = valid ? d : [0, 0.5, 1.0, 1.5];
        }
        uniform = 1.0 / (vocabulary.Count - 1); // every type but <s>
    }

    public double Probability(IReadOnlyList<string> context, string word) =>
        Interpolate(context.TakeLast(order - 1).Select(Known).ToArray(), Known(word));

    double Interpolate(string[] h, string word)
    {
        double lower = h.Length == 0
            ? (word == "<s>" ? 0 : uniform)
            : Interpolate(h[1..], word);
        string prefix = h.Length == 0 ? "" : string.Join(' ', h) + " ";
        var followers = adjusted.Where(e => Length(e.Key) == h.Length + 1 && e.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        double total = followers.Sum(e => (double)e.Value);
        if (total == 0) return lower;
        double[] d = discounts[h.Length + 1];
        double D(long a) => d[Math.Min(a, 3)];
        long count = adjusted.GetValueOrDefault(prefix + word);
        double gamma = followers.Sum(e => D(e.Value)) / total;
        return Math.Max(count - D(count), 0) / total + gamma * lower;
    }

    string Known(string token) => vocabulary.Contains(token) ? token : "<unk>";

    static int Length(string ngram) => ngram.Count(c => c == ' ') + 1;
}
