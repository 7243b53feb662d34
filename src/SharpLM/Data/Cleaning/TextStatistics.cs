using System.Text;
using SharpLM.Data.Dedup;

namespace SharpLM.Data.Cleaning;

/// <summary>
/// Words, lines and paragraphs of a document as the Gopher rules count them. Words are whitespace-separated in
/// space-delimited scripts; in CJK text, which has no spaces between words, every CJK character counts as a word,
/// so no rule silently treats a Chinese sentence as one giant word.
/// </summary>
public sealed class TextStatistics
{
    public TextStatistics(string text)
    {
        Text = text;
        Lines = text.Split('\n');
        Paragraphs = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var words = new List<string>();
        var current = new StringBuilder();
        int cjk = 0, letters = 0;
        Span<char> utf16 = stackalloc char[2];
        foreach (Rune r in text.EnumerateRunes())
        {
            if (Shingles.IsCjk(r))
            {
                Flush();
                words.Add(r.ToString());
                cjk++;
                letters++;
            }
            else if (Rune.IsWhiteSpace(r)) Flush();
            else
            {
                current.Append(utf16[..r.EncodeToUtf16(utf16)]); // no string per character
                if (Rune.IsLetter(r)) letters++;
            }
        }
        Flush();
        Words = words;
        CjkFraction = letters == 0 ? 0 : (double)cjk / letters;

        void Flush()
        {
            if (current.Length == 0) return;
            words.Add(current.ToString());
            current.Clear();
        }
    }

    [ThreadStatic] static TextStatistics? last;

    /// <summary>Statistics of <paramref name="text"/>, reused when consecutive filters on a thread ask about the same string.</summary>
    public static TextStatistics Of(string text)
    {
        var cached = last;
        if (cached is not null && ReferenceEquals(cached.Text, text)) return cached;
        return last = new TextStatistics(text);
    }

    /// <summary>64-bit hashes of <see cref="Words"/>, for n-gram counting without building strings.</summary>
    public IReadOnlyList<ulong> WordHashes => wordHashes ??= Words.Select(Hash).ToArray();
    ulong[]? wordHashes;

    static ulong Hash(string word)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in word) h = (h ^ c) * 0x100000001B3UL;
        return h;
    }

    public string Text { get; }
    public IReadOnlyList<string> Lines { get; }
    public IReadOnlyList<string> Paragraphs { get; }
    public IReadOnlyList<string> Words { get; }
    /// <summary>Share of letters that are CJK characters: above one half the text is treated as CJK.</summary>
    public double CjkFraction { get; }
    public bool IsCjk => CjkFraction > 0.5;
}
