namespace SharpLM.Data.Cleaning;

/// <summary>Thresholds of Gopher's repetition rules (Rae et al. 2021, table A1; defaults as datatrove).</summary>
public sealed record GopherRepetitionOptions
{
    public double MaxDuplicateLineFraction { get; init; } = 0.3;
    public double MaxDuplicateParagraphFraction { get; init; } = 0.3;
    public double MaxDuplicateLineCharFraction { get; init; } = 0.2;
    public double MaxDuplicateParagraphCharFraction { get; init; } = 0.2;
    /// <summary>n → most any single n-gram may cover, as a share of the text's characters.</summary>
    public IReadOnlyDictionary<int, double> MaxTopNGramCharFraction { get; init; } = new Dictionary<int, double> { [2] = 0.20, [3] = 0.18, [4] = 0.16 };
    /// <summary>n → most that repeated n-grams together may cover.</summary>
    public IReadOnlyDictionary<int, double> MaxDuplicateNGramCharFraction { get; init; } =
        new Dictionary<int, double> { [5] = 0.15, [6] = 0.14, [7] = 0.13, [8] = 0.12, [9] = 0.11, [10] = 0.10 };
}

/// <summary>
/// Gopher's repetition heuristics: documents that repeat lines, paragraphs or word n-grams are boilerplate or
/// spam. Words come from <see cref="TextStatistics"/>, so CJK text is measured in characters.
/// </summary>
public sealed class GopherRepetitionFilter : IDocumentFilter
{
    readonly GopherRepetitionOptions o;

    public GopherRepetitionFilter(GopherRepetitionOptions? options = null) => o = options ?? new GopherRepetitionOptions();

    public string Name => "gopher_repetition";

    public FilterResult Apply(Document document)
    {
        string? reason = Check(TextStatistics.Of(document.Text));
        return reason is null ? FilterResult.Keep(document) : FilterResult.Reject(reason);
    }

    public string? Check(TextStatistics s)
    {
        double length = Math.Max(1, s.Text.Length);
        var paragraphs = s.Paragraphs;
        var (dupParagraphs, dupParagraphChars) = Duplicates(paragraphs);
        if (paragraphs.Count > 0 && (double)dupParagraphs / paragraphs.Count > o.MaxDuplicateParagraphFraction) return "gopher_duplicate_paragraphs";
        if (dupParagraphChars / length > o.MaxDuplicateParagraphCharFraction) return "gopher_duplicate_paragraph_chars";
        var lines = s.Lines.Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        var (dupLines, dupLineChars) = Duplicates(lines);
        if (lines.Count > 0 && (double)dupLines / lines.Count > o.MaxDuplicateLineFraction) return "gopher_duplicate_lines";
        if (dupLineChars / length > o.MaxDuplicateLineCharFraction) return "gopher_duplicate_line_chars";

        foreach (var (n, limit) in o.MaxTopNGramCharFraction)
            if (TopNGramChars(s, n) / length > limit) return $"gopher_top_{n}gram";
        foreach (var (n, limit) in o.MaxDuplicateNGramCharFraction)
            if (DuplicateNGramChars(s, n) / length > limit) return $"gopher_duplicate_{n}gram";
        return null;
    }

    /// <summary>How many items repeat an earlier one, and their characters.</summary>
    static (int Count, double Chars) Duplicates(IReadOnlyList<string> items)
    {
        var seen = new HashSet<string>();
        int count = 0;
        double chars = 0;
        foreach (string item in items)
            if (!seen.Add(item)) { count++; chars += item.Length; }
        return (count, chars);
    }

    // Reused per thread: the filter runs on every document, and fresh collections per n-gram size dominated its cost.
    [ThreadStatic] static Dictionary<ulong, (int Count, int Chars)>? topCounts;
    [ThreadStatic] static HashSet<ulong>? seenNGrams;

    /// <summary>Characters covered by the most frequent n-gram (its length × its count), if it repeats at all.</summary>
    static double TopNGramChars(TextStatistics s, int n)
    {
        var words = s.WordHashes;
        if (words.Count < n) return 0;
        // Hashes instead of joined strings: no allocation per n-gram (a 64-bit collision is beyond concern here).
        var counts = topCounts ??= new Dictionary<ulong, (int Count, int Chars)>();
        counts.Clear();
        for (int i = 0; i + n <= words.Count; i++)
        {
            ulong h = NGramHash(words, i, n);
            counts[h] = counts.TryGetValue(h, out var c) ? (c.Count + 1, c.Chars) : (1, NGramChars(s, i, n));
        }
        var top = counts.Values.MaxBy(c => (c.Count, c.Chars));
        return top.Count > 1 ? (double)top.Chars * top.Count : 0;
    }

    /// <summary>Characters of n-grams that occur again, scanning left to right and skipping past each repeat.</summary>
    static double DuplicateNGramChars(TextStatistics s, int n)
    {
        var words = s.WordHashes;
        var seen = seenNGrams ??= new HashSet<ulong>();
        seen.Clear();
        double chars = 0;
        for (int i = 0; i + n <= words.Count;)
        {
            if (!seen.Add(NGramHash(words, i, n))) { chars += NGramChars(s, i, n); i += n; }
            else i++;
        }
        return chars;
    }

    static int NGramChars(TextStatistics s, int start, int n)
    {
        int chars = 0;
        for (int k = start; k < start + n; k++) chars += s.Words[k].Length;
        return chars;
    }

    static ulong NGramHash(IReadOnlyList<ulong> words, int start, int n)
    {
        ulong h = 0xCBF29CE484222325UL;
        for (int k = start; k < start + n; k++) h = (h ^ words[k]) * 0x100000001B3UL + (h >> 29);
        return h;
    }
}
