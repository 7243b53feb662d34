namespace SharpLM.Data.Cleaning;

/// <summary>Thresholds of Gopher's repetition rules (Rae et al. 2021, table A1; defaults as datatrove).</summary>
public sealed record GopherRepetitionOptions
{
    /// <summary>Most of the non-blank lines that may repeat an earlier line.</summary>
    public double MaxDuplicateLineFraction { get; init; } = 0.3;
    /// <summary>Most of the paragraphs (separated by blank lines) that may repeat an earlier paragraph.</summary>
    public double MaxDuplicateParagraphFraction { get; init; } = 0.3;
    /// <summary>Most of the text's characters that repeated lines may hold.</summary>
    public double MaxDuplicateLineCharFraction { get; init; } = 0.2;
    /// <summary>Most of the text's characters that repeated paragraphs may hold.</summary>
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

    readonly int maxN;

    /// <summary>A filter with <paramref name="options"/>, or the Gopher defaults when null.</summary>
    public GopherRepetitionFilter(GopherRepetitionOptions? options = null)
    {
        o = options ?? new GopherRepetitionOptions();
        maxN = o.MaxTopNGramCharFraction.Keys.Concat(o.MaxDuplicateNGramCharFraction.Keys).DefaultIfEmpty(0).Max();
    }

    /// <summary>"gopher_repetition", the name reports use.</summary>
    public string Name => "gopher_repetition";

    /// <summary>Keeps the document unchanged, or rejects it with the reason <see cref="Check"/> gives.</summary>
    public FilterResult Apply(Document document)
    {
        string? reason = Check(TextStatistics.Of(document.Text));
        return reason is null ? FilterResult.Keep(document) : FilterResult.Reject(reason);
    }

    /// <summary>
    /// The first rule the text breaks (paragraphs, then lines, then n-grams by ascending n), as a rejection reason
    /// ("gopher_duplicate_lines", "gopher_top_2gram", …), or null when it passes them all.
    /// </summary>
    public string? Check(TextStatistics s)
    {
        double length = Math.Max(1, s.Text.Length);
        var (paragraphs, dupParagraphs, dupParagraphChars) = Duplicates(s.Text, "\n\n");
        if (paragraphs > 0 && (double)dupParagraphs / paragraphs > o.MaxDuplicateParagraphFraction) return "gopher_duplicate_paragraphs";
        if (dupParagraphChars / length > o.MaxDuplicateParagraphCharFraction) return "gopher_duplicate_paragraph_chars";
        var (lines, dupLines, dupLineChars) = Duplicates(s.Text, "\n");
        if (lines > 0 && (double)dupLines / lines > o.MaxDuplicateLineFraction) return "gopher_duplicate_lines";
        if (dupLineChars / length > o.MaxDuplicateLineCharFraction) return "gopher_duplicate_line_chars";

        return NGramRules(s, length);
    }

    /// <summary>
    /// The n-gram rules, in ascending n. The hashes of all n-grams of one size are built from those of the size
    /// below (one combine per position, not n), and their characters come from prefix sums of word lengths.
    /// </summary>
    string? NGramRules(TextStatistics s, double length)
    {
        int words = s.WordCount;
        if (words == 0 || maxN == 0) return null;
        var scratch = Scratch.ForThread(words);
        var grams = scratch.Grams;
        s.WordHashes.CopyTo(grams);
        var chars = scratch.PrefixChars;
        for (int i = 0; i < words; i++) chars[i + 1] = chars[i] + s.WordLength(i);
        for (int n = 1; n <= Math.Min(maxN, words); n++)
        {
            if (n > 1)
                for (int i = 0; i + n <= words; i++) grams[i] = (grams[i] ^ s.WordHashes[i + n - 1]) * 0x100000001B3UL + (grams[i] >> 29);
            int positions = words - n + 1;
            if (o.MaxTopNGramCharFraction.TryGetValue(n, out double top) && TopNGramChars(scratch, positions, n) / length > top) return $"gopher_top_{n}gram";
            if (o.MaxDuplicateNGramCharFraction.TryGetValue(n, out double dup) && DuplicateNGramChars(scratch, positions, n) / length > dup) return $"gopher_duplicate_{n}gram";
        }
        return null;
    }

    [ThreadStatic] static HashSet<ulong>? seenItems;

    /// <summary>
    /// Non-blank items (lines or paragraphs, trimmed) between separators: how many there are, how many repeat an
    /// earlier one, and the repeats' characters. Items are compared by a 64-bit hash of their characters.
    /// </summary>
    static (int Items, int Repeats, double Chars) Duplicates(string text, string separator)
    {
        var seen = seenItems ??= new HashSet<ulong>();
        seen.Clear();
        int items = 0, repeats = 0;
        double chars = 0;
        foreach (var range in text.AsSpan().Split(separator))
        {
            var item = text.AsSpan(range).Trim();
            if (item.IsEmpty) continue;
            items++;
            if (!seen.Add(Hash(item))) { repeats++; chars += item.Length; }
        }
        return (items, repeats, chars);
    }

    static ulong Hash(ReadOnlySpan<char> item)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in item) h = (h ^ c) * 0x100000001B3UL;
        return h;
    }

    /// <summary>Characters covered by the most frequent n-gram (its length × its count), if it repeats at all.</summary>
    static double TopNGramChars(Scratch scratch, int positions, int n)
    {
        scratch.Clear();
        int bestCount = 1, bestChars = 0;
        for (int i = 0; i < positions; i++)
        {
            int count = ++scratch.Counts[scratch.Slot(scratch.Grams[i])];
            int chars = scratch.PrefixChars[i + n] - scratch.PrefixChars[i];
            if (count > bestCount || (count == bestCount && count > 1 && chars > bestChars)) { bestCount = count; bestChars = chars; }
        }
        return bestCount > 1 ? (double)bestChars * bestCount : 0;
    }

    /// <summary>Characters of n-grams that occur again, scanning left to right and skipping past each repeat.</summary>
    static double DuplicateNGramChars(Scratch scratch, int positions, int n)
    {
        scratch.Clear();
        double chars = 0;
        for (int i = 0; i < positions;)
        {
            if (++scratch.Counts[scratch.Slot(scratch.Grams[i])] > 1) { chars += scratch.PrefixChars[i + n] - scratch.PrefixChars[i]; i += n; }
            else i++;
        }
        return chars;
    }

    /// <summary>
    /// Per-thread working memory: n-gram hashes, prefix sums of word lengths, and an open-addressing count table
    /// (a 64-bit hash collision between two different n-grams of one document is beyond concern). Clearing bumps a
    /// generation stamp instead of zeroing the table.
    /// </summary>
    sealed class Scratch
    {
        [ThreadStatic] static Scratch? current;
        public ulong[] Grams = [];
        public int[] PrefixChars = [];
        ulong[] keys = [];
        public int[] Counts = [];
        int[] stamps = [];
        int generation, mask;

        public static Scratch ForThread(int words)
        {
            var s = current ??= new Scratch();
            if (s.Grams.Length < words)
            {
                s.Grams = new ulong[words];
                s.PrefixChars = new int[words + 1];
                int capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, words * 2));
                s.keys = new ulong[capacity];
                s.Counts = new int[capacity];
                s.stamps = new int[capacity];
                s.mask = capacity - 1;
                s.generation = 0;
            }
            return s;
        }

        public void Clear() => generation++;

        /// <summary>The slot of <paramref name="key"/>, claimed with a zero count if the key is new this generation.</summary>
        public int Slot(ulong key)
        {
            int slot = (int)(key * 0x9E3779B97F4A7C15UL >> 40) & mask;
            while (true)
            {
                if (stamps[slot] != generation)
                {
                    stamps[slot] = generation;
                    keys[slot] = key;
                    Counts[slot] = 0;
                    return slot;
                }
                if (keys[slot] == key) return slot;
                slot = (slot + 1) & mask;
            }
        }
    }
}
