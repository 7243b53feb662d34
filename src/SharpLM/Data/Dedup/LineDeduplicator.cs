using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace SharpLM.Data.Dedup;

/// <summary>What <see cref="LineDeduplicator"/> compares: single lines, or paragraphs (runs of lines between blank lines).</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<LineDedupUnit>))]
public enum LineDedupUnit
{
    /// <summary>Each non-blank line is a unit.</summary>
    Line,
    /// <summary>Each run of non-blank lines between blank lines is a unit.</summary>
    Paragraph,
}

/// <summary>Settings for line/paragraph de-duplication.</summary>
public sealed record LineDedupOptions
{
    /// <summary>Whether lines or paragraphs are compared; lines by default.</summary>
    public LineDedupUnit Unit { get; init; } = LineDedupUnit.Line;

    /// <summary>
    /// Units whose normalised text is shorter than this are always kept and never remembered. 1 (the default, as
    /// CCNet) de-duplicates every unit with something left after normalisation, short navigation lines ("Home",
    /// "Share") included; punctuation-only lines ("-----") normalise to nothing and are kept.
    /// </summary>
    public int MinUnitChars { get; init; } = 1;

    /// <summary>
    /// A document that loses units and keeps fewer normalised characters than this is rejected with
    /// <see cref="LineDeduplicator.RejectReason"/>. 1: rejected only when nothing is left (CCNet's rule).
    /// </summary>
    public int MinRemainingChars { get; init; } = 1;
}

/// <summary>One unit of a text: where it is (without its line break) and the 64-bit hash of its normalised text.</summary>
/// <param name="Start">Index of the unit's first character in the text.</param>
/// <param name="Length">Length of the unit in UTF-16 units, its final line break excluded.</param>
/// <param name="NormalizedLength">Length of the unit's normalised text; units shorter than the minimum are never removed.</param>
/// <param name="Hash">64-bit hash of the normalised text, what units are compared by.</param>
public readonly record struct LineUnit(int Start, int Length, int NormalizedLength, ulong Hash)
{
    /// <summary>Index just past the unit's last character.</summary>
    public int End => Start + Length;
}

/// <summary>The units of one text, from <see cref="LineDeduplicator.Hashes"/>; only valid for that exact text.</summary>
/// <param name="Text">The text the units were found in.</param>
/// <param name="Units">Its units in text order.</param>
public sealed record LineHashes(string Text, IReadOnlyList<LineUnit> Units);

/// <summary>
/// Outcome of <see cref="LineDeduplicator.Apply"/>: the document without its repeated units (the same instance when
/// nothing was removed), or null with <see cref="Reason"/> when too little was left.
/// </summary>
/// <param name="Kept">The document to pass on, or null when rejected.</param>
/// <param name="Reason"><see cref="LineDeduplicator.RejectReason"/> when rejected, else null.</param>
/// <param name="Units">Units the document had.</param>
/// <param name="UnitsRemoved">Units removed as repeats.</param>
/// <param name="BytesRemoved">UTF-8 bytes removed; the whole document's size when rejected.</param>
public sealed record LineDedupResult(Document? Kept, string? Reason, int Units, int UnitsRemoved, long BytesRemoved);

/// <summary>What <see cref="LineDeduplicator.Remember"/> decided about one document's units.</summary>
/// <param name="Removed">Units that were repeats.</param>
/// <param name="Rejected">True when too little is left and the document is to be dropped (its units then stay unremembered).</param>
public readonly record struct LineDecision(int Removed, bool Rejected);

/// <summary>
/// CCNet's paragraph de-duplication (Wenzek et al. 2019; cc_net/dedup.py): a line (or paragraph) whose normalised
/// text already occurred is removed, which strips the boilerplate that web pages share (cookie notices, menus,
/// footers) while keeping each page's own text. This is cc_net's streaming variant (<c>deduplicate</c>: the first
/// occurrence is kept), not the paper's two-pass one, which removes every copy. Repeats inside one document go too,
/// first one kept, as in cc_net's <c>finalize_doc</c>.
/// <para>
/// The work is split for a parallel pipeline: <see cref="Hashes"/> (splitting, normalising, hashing) is thread-safe;
/// <see cref="Apply"/> must run once per document in input order, which makes the output deterministic.
/// </para>
/// <para>
/// Memory: the seen-set holds one 64-bit hash per distinct unit; as a <see cref="HashSet{T}"/> that costs about
/// 20 bytes each (entry + bucket), up to twice that while it grows: 100 M distinct lines ≈ 2–4 GB. With 64-bit hashes
/// the chance of any false match stays below 10⁻³ up to ~10⁸ distinct units.
/// </para>
/// </summary>
public sealed class LineDeduplicator
{
    /// <summary>"line_duplicates": the reason reports give for a document with too little left after removal.</summary>
    public const string RejectReason = "line_duplicates";

    readonly LineDedupOptions options;
    readonly HashSet<ulong> seen = new();
    readonly List<int> keptUnits = new();  // reused: Apply runs once per document, in order
    readonly List<ulong> addedHashes = new();

    /// <summary>A deduplicator with nothing seen yet, using <paramref name="options"/> or the CCNet defaults when null.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A minimum in the options is negative.</exception>
    public LineDeduplicator(LineDedupOptions? options = null)
    {
        this.options = options ?? new LineDedupOptions();
        if (this.options.MinUnitChars < 0) throw new ArgumentOutOfRangeException(nameof(options), "MinUnitChars must be >= 0");
        if (this.options.MinRemainingChars < 0) throw new ArgumentOutOfRangeException(nameof(options), "MinRemainingChars must be >= 0");
    }

    /// <summary>Distinct units remembered so far.</summary>
    public int SeenCount => seen.Count;

    /// <summary>
    /// Splits <paramref name="text"/> into units and hashes each one's normalised text. Pure and thread-safe.
    /// Blank (whitespace-only) lines are never units: they belong to the separators, so they are never removed.
    /// </summary>
    public LineHashes Hashes(string text)
    {
        var units = new List<LineUnit>();
        char[]? buffer = null;
        int unitStart = -1, unitEnd = 0;
        try
        {
            for (int pos = 0; ;)
            {
                int newline = text.IndexOf('\n', pos);
                int end = newline < 0 ? text.Length : newline;
                if (text.AsSpan(pos, end - pos).IsWhiteSpace()) Close();
                else
                {
                    if (unitStart < 0) unitStart = pos;
                    unitEnd = end;
                    if (options.Unit == LineDedupUnit.Line) Close();
                }
                if (newline < 0) break;
                pos = newline + 1;
            }
            Close();
        }
        finally
        {
            if (buffer is not null) ArrayPool<char>.Shared.Return(buffer);
        }
        return new LineHashes(text, units.ToArray());

        void Close()
        {
            if (unitStart < 0) return;
            int length = Normalize(text.AsSpan(unitStart, unitEnd - unitStart), ref buffer);
            units.Add(new LineUnit(unitStart, unitEnd - unitStart, length, Hash(buffer.AsSpan(0, length))));
            unitStart = -1;
        }
    }

    /// <summary>
    /// Removes the units of <paramref name="document"/> seen before (in an earlier document or earlier in this one)
    /// and remembers the new ones. Between two kept units goes the separator with the most line breaks among those
    /// that stood between them, so removing a paragraph's last line does not glue it to the next paragraph; text
    /// before the first unit and after the last is kept as it was. A rejected document remembers nothing, so a new
    /// unit in it survives in the next document that has it.
    /// </summary>
    public LineDedupResult Apply(Document document, LineHashes hashes)
    {
        if (!string.Equals(document.Text, hashes.Text, StringComparison.Ordinal))
            throw new ArgumentException("hashes were computed for another text", nameof(hashes));
        var units = hashes.Units;
        var decision = Remember(units);
        if (decision.Removed == 0) return new LineDedupResult(document, null, units.Count, 0, 0);
        long bytesIn = Encoding.UTF8.GetByteCount(document.Text);
        if (decision.Rejected) return new LineDedupResult(null, RejectReason, units.Count, decision.Removed, bytesIn);
        string text = Rewrite(document.Text, units, keptUnits);
        return new LineDedupResult(document with { Text = text }, null, units.Count, decision.Removed, bytesIn - Encoding.UTF8.GetByteCount(text));
    }

    /// <summary>
    /// The decision of <see cref="Apply"/> from the units alone (only their hashes and normalised lengths are read):
    /// which units are repeats, and whether too little is left. Remembers the new units unless the document is
    /// rejected. This is what replays another process's documents, whose text is not here.
    /// </summary>
    public LineDecision Remember(IReadOnlyList<LineUnit> units)
    {
        keptUnits.Clear();
        addedHashes.Clear();
        long remainingChars = 0;
        for (int i = 0; i < units.Count; i++)
        {
            var unit = units[i];
            if (unit.NormalizedLength >= options.MinUnitChars)
            {
                if (!seen.Add(unit.Hash)) continue;
                addedHashes.Add(unit.Hash);
            }
            keptUnits.Add(i);
            remainingChars += unit.NormalizedLength;
        }

        int removed = units.Count - keptUnits.Count;
        if (removed == 0 || remainingChars >= options.MinRemainingChars) return new LineDecision(removed, false);
        foreach (ulong hash in addedHashes) seen.Remove(hash);
        return new LineDecision(removed, true);
    }

    static string Rewrite(string text, IReadOnlyList<LineUnit> units, List<int> kept)
    {
        var sb = new StringBuilder(text.Length);
        sb.Append(text, 0, units[0].Start);
        for (int k = 0; k < kept.Count; k++)
        {
            if (k > 0)
            {
                var (start, length) = StrongestSeparator(text, units, kept[k - 1], kept[k]);
                sb.Append(text, start, length);
            }
            var unit = units[kept[k]];
            sb.Append(text, unit.Start, unit.Length);
        }
        int tail = units[^1].End;
        sb.Append(text, tail, text.Length - tail);
        return sb.ToString();
    }

    static (int Start, int Length) StrongestSeparator(string text, IReadOnlyList<LineUnit> units, int from, int to)
    {
        (int Start, int Length) best = default;
        int bestBreaks = -1;
        for (int i = from; i < to; i++)
        {
            int start = units[i].End, length = units[i + 1].Start - start;
            int breaks = text.AsSpan(start, length).Count('\n');
            if (breaks > bestBreaks) (best, bestBreaks) = ((start, length), breaks);
        }
        return best;
    }

    /// <summary>The text as <see cref="Hashes"/> compares it (see <see cref="Normalize(ReadOnlySpan{char}, ref char[])"/>).</summary>
    public static string Normalize(string text)
    {
        char[]? buffer = null;
        try
        {
            int length = Normalize(text, ref buffer);
            return new string(buffer, 0, length);
        }
        finally
        {
            if (buffer is not null) ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Writes the normalised <paramref name="unit"/> into <paramref name="buffer"/> (grown from the pool when short)
    /// and returns its length. As cc_net's normalize_for_dedup: lower case, every decimal digit becomes 0, Unicode
    /// punctuation (ASCII's too, so "Hello, World 2023!" matches "hello world 1999") and invisible format characters
    /// are dropped. Beyond it: compatibility decomposition (NFKD) folds full-width forms and ligatures, Latin/Greek/
    /// Cyrillic accents (U+0300–U+036F) are stripped, and whitespace and control characters collapse to one space,
    /// trimmed. Other scripts' combining marks are kept: they are vowel signs (Devanagari) or voicing marks (kana),
    /// and dropping them would make different words equal. Letters of every script, CJK included, are kept.
    /// </summary>
    static int Normalize(ReadOnlySpan<char> unit, [NotNull] ref char[]? buffer)
    {
        ReadOnlySpan<char> source = unit;
        if (Ascii.IsValid(unit))
            Grow(ref buffer, unit.Length);
        else
        {
            Grow(ref buffer, unit.GetNormalizedLength(NormalizationForm.FormKD));
            unit.TryNormalize(buffer, out int decomposed, NormalizationForm.FormKD);
            source = buffer.AsSpan(0, decomposed);
        }

        // May run in place (source is the buffer): each rune is written in no more chars than it was read from,
        // because lower-casing never changes a rune's UTF-16 length, and a space is written only for whitespace
        // already read, so writing never overtakes reading.
        int written = 0;
        bool pendingSpace = false;
        for (int i = 0; i < source.Length;)
        {
            Rune rune;
            if (source[i] < 0x80)
            {
                char folded = AsciiFolded[source[i++]];
                if (folded == '\0') continue;
                rune = new Rune(folded);
            }
            else
            {
                Rune.DecodeFromUtf16(source[i..], out rune, out int read); // a lone surrogate reads as U+FFFD
                i += read;
                if (!TryFold(ref rune)) continue;
            }
            if (rune.Value == ' ')
            {
                pendingSpace = written > 0;
                continue;
            }
            if (pendingSpace)
            {
                buffer[written++] = ' ';
                pendingSpace = false;
            }
            written += rune.EncodeToUtf16(buffer.AsSpan(written));
        }
        return written;
    }

    /// <summary>Folds one rune as <see cref="Normalize(ReadOnlySpan{char}, ref char[])"/> does; false when it is dropped.</summary>
    static bool TryFold(ref Rune rune)
    {
        if (Rune.IsWhiteSpace(rune) || Rune.IsControl(rune)) rune = new Rune(' ');
        else if (rune.Value is >= 0x300 and <= 0x36F || Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation
            or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation or UnicodeCategory.Format) return false;
        else rune = Rune.IsDigit(rune) ? new Rune('0') : Rune.ToLowerInvariant(rune);
        return true;
    }

    // TryFold for ASCII, looked up: most web text is mostly ASCII, and a table beats three Unicode-table lookups per
    // char. '\0' = dropped (NUL itself is a control character and folds to a space).
    static readonly char[] AsciiFolded = Enumerable.Range(0, 128)
        .Select(c => new Rune(c) is var rune && TryFold(ref rune) ? (char)rune.Value : '\0').ToArray();

    static void Grow([NotNull] ref char[]? buffer, int length)
    {
        if (buffer is not null && buffer.Length >= length) return;
        if (buffer is not null) ArrayPool<char>.Shared.Return(buffer);
        buffer = ArrayPool<char>.Shared.Rent(Math.Max(length, 256));
    }

    /// <summary>
    /// MurmurHash64A's mixing over four UTF-16 chars at a time: fast, allocation-free, and the same on every
    /// machine and run (string.GetHashCode is randomised per process).
    /// </summary>
    static ulong Hash(ReadOnlySpan<char> chars)
    {
        const ulong m = 0xC6A4A7935BD1E995UL;
        ulong h = 0x9E3779B97F4A7C15UL ^ ((ulong)chars.Length * m);
        int i = 0;
        for (; i + 4 <= chars.Length; i += 4)
            h = (h ^ Mix(chars[i] | (ulong)chars[i + 1] << 16 | (ulong)chars[i + 2] << 32 | (ulong)chars[i + 3] << 48)) * m;
        if (i < chars.Length)
        {
            ulong tail = 0;
            for (int shift = 0; i < chars.Length; i++, shift += 16) tail |= (ulong)chars[i] << shift;
            h = (h ^ Mix(tail)) * m;
        }
        h ^= h >> 47;
        h *= m;
        return h ^ (h >> 47);

        static ulong Mix(ulong k)
        {
            k *= m;
            k ^= k >> 47;
            return k * m;
        }
    }
}
