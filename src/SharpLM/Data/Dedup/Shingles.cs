using System.Globalization;
using System.Text;

namespace SharpLM.Data.Dedup;

/// <summary>
/// A document as a set of hashed shingles (n consecutive tokens), the unit MinHash compares. Tokens are
/// lower-cased words (runs of letters and digits); in CJK scripts, which do not separate words by spaces, every
/// character is a token. Punctuation and whitespace only separate tokens, so re-spacing or re-punctuating a
/// copy does not hide it.
/// </summary>
public static class Shingles
{
    /// <summary>Distinct 64-bit hashes of the token n-grams of <paramref name="text"/> (one shingle if it has fewer than n tokens).</summary>
    public static HashSet<ulong> Of(string text, int n)
    {
        var shingles = new List<ulong>();
        Append(text, n, new List<ulong>(), shingles);
        return shingles.ToHashSet();
    }

    /// <summary>
    /// The token n-gram hashes of <paramref name="text"/> appended to <paramref name="shingles"/>, repeats included
    /// (MinHash does not need a set); <paramref name="tokens"/> is scratch space, so callers can reuse both lists.
    /// </summary>
    public static void Append(string text, int n, List<ulong> tokens, List<ulong> shingles)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), "shingle size must be at least 1");
        tokens.Clear();
        AppendTokens(text, tokens);
        if (tokens.Count == 0) return;
        if (tokens.Count < n) { shingles.Add(NGram(tokens, 0, tokens.Count)); return; }
        for (int i = 0; i + n <= tokens.Count; i++) shingles.Add(NGram(tokens, i, n));
    }

    /// <summary>Token hashes in order.</summary>
    public static List<ulong> Tokens(string text)
    {
        var tokens = new List<ulong>(text.Length / 5 + 1);
        AppendTokens(text, tokens);
        return tokens;
    }

    static void AppendTokens(string text, List<ulong> tokens)
    {
        ulong hash = FnvOffset;
        bool inWord = false;
        for (int i = 0; i < text.Length;)
        {
            char c = text[i];
            if (c < 0x80) // ASCII, almost every character of most corpora: no rune decoding, no Unicode tables
            {
                i++;
                char lower = (char)(c | 0x20);
                bool letter = lower is >= 'a' and <= 'z';
                if (letter || c is >= '0' and <= '9')
                {
                    if (!inWord) { hash = FnvOffset; inWord = true; }
                    hash = Mix(hash, letter ? lower : c);
                }
                else if (inWord) { tokens.Add(Finish(hash)); inWord = false; }
                continue;
            }
            Rune.DecodeFromUtf16(text.AsSpan(i), out Rune rune, out int consumed);
            i += consumed;
            if (IsCjk(rune))
            {
                if (inWord) { tokens.Add(Finish(hash)); inWord = false; }
                tokens.Add(Finish(Mix(FnvOffset, (uint)rune.Value)));
            }
            else if (Rune.IsLetterOrDigit(rune))
            {
                if (!inWord) { hash = FnvOffset; inWord = true; }
                hash = Mix(hash, (uint)Rune.ToLowerInvariant(rune).Value);
            }
            else if (inWord)
            {
                tokens.Add(Finish(hash));
                inWord = false;
            }
        }
        if (inWord) tokens.Add(Finish(hash));
    }

    /// <summary>Han, kana and Hangul: scripts written without spaces between words.</summary>
    public static bool IsCjk(Rune r)
    {
        int v = r.Value;
        return v is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2EBEF or >= 0xF900 and <= 0xFAFF
            or >= 0x3040 and <= 0x30FF or >= 0xAC00 and <= 0xD7AF;
    }

    const ulong FnvOffset = 0xCBF29CE484222325UL, FnvPrime = 0x100000001B3UL;

    // FNV-1a with whole code points as its units: stable across processes and machines (string.GetHashCode is
    // randomised per process); Finish makes up for the weaker mixing of one multiply per code point.
    static ulong Mix(ulong hash, uint value) => (hash ^ value) * FnvPrime;

    // SplitMix64's finaliser spreads FNV's weak low bits.
    static ulong Finish(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Hash of the <paramref name="count"/> tokens starting at <paramref name="start"/> (order-sensitive).</summary>
    public static ulong NGram(List<ulong> tokens, int start, int count)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        for (int i = start; i < start + count; i++) h = Finish(h ^ tokens[i]) + (ulong)i - (ulong)start;
        return h;
    }
}
