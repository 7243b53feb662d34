using System.Text;

namespace SharpLM.Tokenization;

/// <summary>The character classes the pre-tokenizer patterns split on: \p{L}, \p{N}, \s and everything else.</summary>
internal enum CharCategory : byte { Letter, Number, Space, Other }

/// <summary>
/// <see cref="CharCategory"/> of a code point, as Oniguruma (Hugging Face) reads the patterns: \p{L} is L*, \p{N} is
/// Nd/Nl/No, \s is Unicode White_Space — the same sets as these Rune tests. Shared by the GPT-2 and Llama-3 / Qwen2
/// pre-tokenizers, which classify whole code points rather than UTF-16 units.
/// </summary>
internal static class CharCategories
{
    // Most text is mostly ASCII; a table lookup makes the common case cheap.
    static readonly CharCategory[] ascii = Enumerable.Range(0, 128).Select(c => Of(new Rune(c))).ToArray();

    /// <summary>The class of the code point at <paramref name="index"/> and its width in UTF-16 units; an unpaired
    /// surrogate reads as U+FFFD (a symbol), one unit wide.</summary>
    public static CharCategory At(ReadOnlySpan<char> text, int index, out int width)
    {
        char c = text[index];
        if (!char.IsSurrogate(c))
        {
            width = 1;
            return c < 128 ? ascii[c] : Of(new Rune(c));
        }
        Rune.DecodeFromUtf16(text[index..], out Rune rune, out width);
        return Of(rune);
    }

    static CharCategory Of(Rune c) =>
        Rune.IsLetter(c) ? CharCategory.Letter
        : Rune.IsNumber(c) ? CharCategory.Number
        : Rune.IsWhiteSpace(c) ? CharCategory.Space
        : CharCategory.Other;
}
