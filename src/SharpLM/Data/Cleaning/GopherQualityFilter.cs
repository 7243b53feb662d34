namespace SharpLM.Data.Cleaning;

/// <summary>Thresholds of the Gopher quality rules (Rae et al. 2021, appendix A; defaults as datatrove).</summary>
public sealed record GopherQualityOptions
{
    /// <summary>Documents with fewer words are rejected (in CJK text each character is a word).</summary>
    public int MinWords { get; init; } = 50;
    /// <summary>Documents with more words are rejected.</summary>
    public int MaxWords { get; init; } = 100_000;
    /// <summary>Lowest mean word length, in characters; not applied to CJK text.</summary>
    public double MinMeanWordLength { get; init; } = 3;
    /// <summary>Highest mean word length, in characters; not applied to CJK text.</summary>
    public double MaxMeanWordLength { get; init; } = 10;
    /// <summary>Hash signs and ellipses per word.</summary>
    public double MaxSymbolWordRatio { get; init; } = 0.1;
    /// <summary>Most of the non-blank lines that may start with a bullet (•, -, *, …).</summary>
    public double MaxBulletLineFraction { get; init; } = 0.9;
    /// <summary>Most of the non-blank lines that may end in an ellipsis ("..." or "…").</summary>
    public double MaxEllipsisLineFraction { get; init; } = 0.3;
    /// <summary>At least this share of words must contain a letter.</summary>
    public double MinAlphabeticWordFraction { get; init; } = 0.8;
    /// <summary>Distinct stop words required (English: the, be, to, of, and, that, have, with).</summary>
    public int MinStopWords { get; init; } = 2;
}

/// <summary>
/// Gopher's document-quality heuristics: length, mean word length, symbol ratio, bullet and ellipsis lines,
/// alphabetic words and stop words. For CJK documents (characters are words) the mean-word-length rule does not
/// apply and the stop words are Chinese function words (的, 了, 是, 在, 和, 有, 我, 不).
/// </summary>
public sealed class GopherQualityFilter : IDocumentFilter
{
    // Each stop word → its bit, so the distinct ones a document uses are a bit mask (no set per document).
    static readonly Dictionary<string, int> EnglishStopWords = Bits(StringComparer.OrdinalIgnoreCase, "the", "be", "to", "of", "and", "that", "have", "with");
    static readonly Dictionary<string, int> ChineseStopWords = Bits(StringComparer.Ordinal, "的", "了", "是", "在", "和", "有", "我", "不");

    static Dictionary<string, int> Bits(StringComparer comparer, params string[] words) =>
        words.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => 1 << p.i, comparer);
    const string Bullets = "•●○■□▪▫◦-*·‣⁃➤";

    readonly GopherQualityOptions o;

    /// <summary>A filter with <paramref name="options"/>, or the Gopher defaults when null.</summary>
    public GopherQualityFilter(GopherQualityOptions? options = null) => o = options ?? new GopherQualityOptions();

    /// <summary>"gopher_quality", the name reports use.</summary>
    public string Name => "gopher_quality";

    /// <summary>Keeps the document unchanged, or rejects it with the reason <see cref="Check"/> gives.</summary>
    public FilterResult Apply(Document document)
    {
        var stats = TextStatistics.Of(document.Text);
        string? reason = Check(stats);
        return reason is null ? FilterResult.Keep(document) : FilterResult.Reject(reason);
    }

    /// <summary>
    /// The first rule the text breaks, as a rejection reason ("gopher_too_few_words", "gopher_stop_words", …), or null
    /// when it passes them all.
    /// </summary>
    public string? Check(TextStatistics s)
    {
        int count = s.WordCount;
        if (count < o.MinWords) return "gopher_too_few_words";
        if (count > o.MaxWords) return "gopher_too_many_words";
        long wordChars = 0;
        int hashWords = 0, alphabetic = 0, stopWordsSeen = 0;
        var stopWords = (s.IsCjk ? ChineseStopWords : EnglishStopWords).GetAlternateLookup<ReadOnlySpan<char>>();
        for (int i = 0; i < count; i++)
        {
            var word = s.Word(i);
            wordChars += word.Length;
            if (word.Contains('#')) hashWords++;
            foreach (char c in word) if (char.IsLetter(c)) { alphabetic++; break; }
            var bare = word.Trim(Punctuation);
            if (bare.Length <= 4 && stopWords.TryGetValue(bare, out int bit)) stopWordsSeen |= bit;
        }
        if (!s.IsCjk)
        {
            double mean = (double)wordChars / count;
            if (mean < o.MinMeanWordLength) return "gopher_short_mean_word";
            if (mean > o.MaxMeanWordLength) return "gopher_long_mean_word";
        }
        int symbols = hashWords + CountOf(s.Text, "...") + CountOf(s.Text, "…");
        if ((double)symbols / count > o.MaxSymbolWordRatio) return "gopher_symbol_ratio";
        int lines = 0, bulletLines = 0, ellipsisLines = 0;
        foreach (var range in s.Text.AsSpan().Split('\n'))
        {
            var line = s.Text.AsSpan(range).Trim();
            if (line.IsEmpty) continue;
            lines++;
            if (Bullets.Contains(line[0])) bulletLines++;
            if (line.EndsWith("...") || line[^1] == '…') ellipsisLines++;
        }
        if (lines > 0)
        {
            if ((double)bulletLines / lines > o.MaxBulletLineFraction) return "gopher_bullet_lines";
            if ((double)ellipsisLines / lines > o.MaxEllipsisLineFraction) return "gopher_ellipsis_lines";
        }
        if ((double)alphabetic / count < o.MinAlphabeticWordFraction) return "gopher_non_alphabetic";
        if (System.Numerics.BitOperations.PopCount((uint)stopWordsSeen) < o.MinStopWords) return "gopher_stop_words";
        return null;
    }

    static readonly string Punctuation = ".,;:!?\"'()[]{}«»“”‘’";

    static int CountOf(string text, string needle)
    {
        int count = 0;
        for (int i = text.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = text.IndexOf(needle, i + needle.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}
