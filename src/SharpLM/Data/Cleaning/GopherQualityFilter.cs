namespace SharpLM.Data.Cleaning;

/// <summary>Thresholds of the Gopher quality rules (Rae et al. 2021, appendix A; defaults as datatrove).</summary>
public sealed record GopherQualityOptions
{
    public int MinWords { get; init; } = 50;
    public int MaxWords { get; init; } = 100_000;
    public double MinMeanWordLength { get; init; } = 3;
    public double MaxMeanWordLength { get; init; } = 10;
    /// <summary>Hash signs and ellipses per word.</summary>
    public double MaxSymbolWordRatio { get; init; } = 0.1;
    public double MaxBulletLineFraction { get; init; } = 0.9;
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
    static readonly HashSet<string> EnglishStopWords = new(StringComparer.OrdinalIgnoreCase) { "the", "be", "to", "of", "and", "that", "have", "with" };
    static readonly HashSet<string> ChineseStopWords = new() { "的", "了", "是", "在", "和", "有", "我", "不" };
    static readonly string[] Bullets = { "•", "●", "○", "■", "□", "▪", "▫", "◦", "-", "*", "·", "‣", "⁃", "➤" };

    readonly GopherQualityOptions o;

    public GopherQualityFilter(GopherQualityOptions? options = null) => o = options ?? new GopherQualityOptions();

    public string Name => "gopher_quality";

    public FilterResult Apply(Document document)
    {
        var stats = TextStatistics.Of(document.Text);
        string? reason = Check(stats);
        return reason is null ? FilterResult.Keep(document) : FilterResult.Reject(reason);
    }

    public string? Check(TextStatistics s)
    {
        var words = s.Words;
        if (words.Count < o.MinWords) return "gopher_too_few_words";
        if (words.Count > o.MaxWords) return "gopher_too_many_words";
        if (!s.IsCjk)
        {
            double mean = words.Average(w => w.Length);
            if (mean < o.MinMeanWordLength) return "gopher_short_mean_word";
            if (mean > o.MaxMeanWordLength) return "gopher_long_mean_word";
        }
        int symbols = words.Count(w => w.Contains('#')) + CountOf(s.Text, "...") + CountOf(s.Text, "…");
        if ((double)symbols / words.Count > o.MaxSymbolWordRatio) return "gopher_symbol_ratio";
        var lines = s.Lines.Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count > 0)
        {
            if ((double)lines.Count(l => Bullets.Any(b => l.TrimStart().StartsWith(b, StringComparison.Ordinal))) / lines.Count > o.MaxBulletLineFraction)
                return "gopher_bullet_lines";
            if ((double)lines.Count(l => l.TrimEnd().EndsWith("...", StringComparison.Ordinal) || l.TrimEnd().EndsWith('…')) / lines.Count > o.MaxEllipsisLineFraction)
                return "gopher_ellipsis_lines";
        }
        if ((double)words.Count(w => w.Any(char.IsLetter)) / words.Count < o.MinAlphabeticWordFraction) return "gopher_non_alphabetic";
        var stopWords = s.IsCjk ? ChineseStopWords : EnglishStopWords;
        if (words.Where(w => stopWords.Contains(w.Trim(Punctuation))).Distinct(StringComparer.OrdinalIgnoreCase).Count() < o.MinStopWords)
            return "gopher_stop_words";
        return null;
    }

    static readonly char[] Punctuation = ".,;:!?\"'()[]{}«»“”‘’".ToCharArray();

    static int CountOf(string text, string needle)
    {
        int count = 0;
        for (int i = text.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = text.IndexOf(needle, i + needle.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}
