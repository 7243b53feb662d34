using System.Text;
using SharpLM.Data.Dedup;

namespace SharpLM.Data.Cleaning;

/// <summary>
/// Words, lines and paragraphs of a document as the Gopher rules count them. Words are whitespace-separated in
/// space-delimited scripts; in CJK text, which has no spaces between words, every CJK character counts as a word,
/// so no rule silently treats a Chinese sentence as one giant word. Words are kept as (start, length) spans of the
/// text with a 64-bit hash each, found in one pass: the rules run on every document of a corpus, and a string per
/// word was most of their cost.
/// </summary>
public sealed class TextStatistics
{
    int[] starts = new int[64], lengths = new int[64];
    ulong[] hashes = new ulong[64];

    /// <summary>Splits <paramref name="text"/> into words in one pass; <see cref="Of"/> reuses a recent result.</summary>
    public TextStatistics(string text)
    {
        Text = text;
        int cjk = 0, letters = 0, wordStart = -1;
        ulong hash = FnvOffset;
        for (int i = 0; i < text.Length;)
        {
            char c = text[i];
            if (c < 0x80) // ASCII fast path: no rune decoding, no Unicode tables
            {
                if (c is ' ' or '\n' or '\t' or '\r' or '\v' or '\f') Flush(i);
                else
                {
                    if (wordStart < 0) { wordStart = i; hash = FnvOffset; }
                    hash = (hash ^ c) * FnvPrime;
                    if ((uint)((c | 0x20) - 'a') <= 'z' - 'a') letters++;
                }
                i++;
                continue;
            }
            Rune.DecodeFromUtf16(text.AsSpan(i), out Rune r, out int consumed);
            if (Shingles.IsCjk(r))
            {
                Flush(i);
                ulong h = FnvOffset;
                for (int k = i; k < i + consumed; k++) h = (h ^ text[k]) * FnvPrime;
                Add(i, consumed, h);
                cjk++;
                letters++;
            }
            else if (Rune.IsWhiteSpace(r)) Flush(i);
            else
            {
                if (wordStart < 0) { wordStart = i; hash = FnvOffset; }
                for (int k = i; k < i + consumed; k++) hash = (hash ^ text[k]) * FnvPrime;
                if (Rune.IsLetter(r)) letters++;
            }
            i += consumed;
        }
        Flush(text.Length);
        CjkFraction = letters == 0 ? 0 : (double)cjk / letters;

        void Flush(int end)
        {
            if (wordStart < 0) return;
            Add(wordStart, end - wordStart, hash);
            wordStart = -1;
        }
    }

    void Add(int start, int length, ulong hash)
    {
        if (WordCount == starts.Length)
        {
            Array.Resize(ref starts, WordCount * 2);
            Array.Resize(ref lengths, WordCount * 2);
            Array.Resize(ref hashes, WordCount * 2);
        }
        starts[WordCount] = start;
        lengths[WordCount] = length;
        hashes[WordCount++] = hash;
    }

    const ulong FnvOffset = 0xCBF29CE484222325UL, FnvPrime = 0x100000001B3UL;

    [ThreadStatic] static TextStatistics? last;

    /// <summary>Statistics of <paramref name="text"/>, reused when consecutive filters on a thread ask about the same string.</summary>
    public static TextStatistics Of(string text)
    {
        var cached = last;
        if (cached is not null && ReferenceEquals(cached.Text, text)) return cached;
        return last = new TextStatistics(text);
    }

    /// <summary>The text the statistics describe.</summary>
    public string Text { get; }
    /// <summary>Number of words, each CJK character counting as one.</summary>
    public int WordCount { get; private set; }
    /// <summary>Word <paramref name="index"/> (0 … <see cref="WordCount"/>-1), as a slice of <see cref="Text"/>.</summary>
    public ReadOnlySpan<char> Word(int index) => Text.AsSpan(starts[index], lengths[index]);
    /// <summary>Length of word <paramref name="index"/> in UTF-16 units.</summary>
    public int WordLength(int index) => lengths[index];
    /// <summary>64-bit FNV-1a hashes of the words, for n-gram counting without building strings.</summary>
    public ReadOnlySpan<ulong> WordHashes => hashes.AsSpan(0, WordCount);

    /// <summary>The words as strings (allocates; the rules use <see cref="Word"/>).</summary>
    public IReadOnlyList<string> Words => Enumerable.Range(0, WordCount).Select(i => Word(i).ToString()).ToArray();

    /// <summary>Share of letters that are CJK characters: above one half the text is treated as CJK.</summary>
    public double CjkFraction { get; }
    /// <summary>True when more than half the letters are CJK characters; rules then count characters as words.</summary>
    public bool IsCjk => CjkFraction > 0.5;
}
