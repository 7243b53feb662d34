using System.Text;

namespace SharpLM.Tokenization;

/// <summary>
/// Splits text into the pieces ("pre-tokens") that byte-level BPE encodes one at a time, following GPT-2's regex
/// <see cref="Pattern"/>: a contraction, a run of letters, of digits, or of other symbols (each may take one leading
/// space), or whitespace. Merges never cross a piece boundary, so " the" and "the," keep separate statistics.
/// <para>Why not just run the regex? .NET's regex engine classifies UTF-16 units, so a letter outside the Basic
/// Multilingual Plane (𝐀, CJK extension B such as 𠀀) arrives as two surrogates, which are not \p{L}. Hugging Face's
/// engine works on code points and sees a letter — the two would then split, and so encode, such text differently.
/// This hand-written matcher walks code points (<see cref="Rune"/>) and otherwise makes exactly the regex's
/// choices; the tests check it against the regex on BMP text and against Hugging Face beyond it.</para>
/// </summary>
public static class GptPreTokenizer
{
    /// <summary>
    /// GPT-2's pattern, which Hugging Face's ByteLevel pre-tokenizer (use_regex=true) also uses. <c>\s+(?!\S)</c>
    /// leaves the last whitespace character of a run to start the next piece, so " world" keeps its space.
    /// </summary>
    public const string Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    static readonly string[] contractions = ["s", "t", "re", "ve", "m", "ll", "d"];

    /// <summary>The pieces of <paramref name="text"/>, in order; together they cover it exactly.</summary>
    public static Enumerator Split(ReadOnlySpan<char> text) => new(text);

    /// <summary>Length in UTF-16 units of the piece at the start of <paramref name="text"/> (which is not empty).</summary>
    internal static int FirstPieceLength(ReadOnlySpan<char> text)
    {
        // 's 't 're 've 'm 'll 'd — tried first, as in the regex.
        if (text[0] == '\'')
            foreach (string contraction in contractions)
                if (text[1..].StartsWith(contraction, StringComparison.Ordinal)) return 1 + contraction.Length;

        // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": one optional space, then a run of one category.
        CharCategory first = CharCategories.At(text, 0, out int width);
        int start = 0;
        if (text[0] == ' ' && width < text.Length && CharCategories.At(text, 1, out _) is var next && next != CharCategory.Space)
        {
            start = 1;
            first = next;
        }
        if (first != CharCategory.Space)
        {
            int end = start;
            while (end < text.Length && CharCategories.At(text, end, out int w) == first) end += w;
            return end;
        }

        // "\s+(?!\S)|\s+": a whitespace run, less its last character when text follows, unless that is all there is.
        int runEnd = 0, lastStart = 0;
        while (runEnd < text.Length && CharCategories.At(text, runEnd, out int w) == CharCategory.Space)
        {
            lastStart = runEnd;
            runEnd += w;
        }
        return runEnd == text.Length || lastStart == 0 ? runEnd : lastStart;
    }

    /// <summary>Enumerates pieces as spans of the input, without allocating.</summary>
    public ref struct Enumerator
    {
        ReadOnlySpan<char> rest;

        internal Enumerator(ReadOnlySpan<char> text) => rest = text;

        /// <summary>The current piece, a slice of the input.</summary>
        public ReadOnlySpan<char> Current { get; private set; }

        /// <summary>Advances to the next piece; false once the input is used up.</summary>
        public bool MoveNext()
        {
            if (rest.IsEmpty) return false;
            int length = FirstPieceLength(rest);
            Current = rest[..length];
            rest = rest[length..];
            return true;
        }

        /// <summary>Itself, so that <c>foreach</c> can run over the pieces.</summary>
        public readonly Enumerator GetEnumerator() => this;
    }
}
