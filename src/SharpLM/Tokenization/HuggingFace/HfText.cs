namespace SharpLM.Tokenization.HuggingFace;

/// <summary>
/// What Hugging Face's tokenizers can be given: Rust strings are always valid Unicode, so a .NET string with a lone
/// (unpaired) surrogate never reaches them — Tokenizers.DotNet refuses it ("Invalid UTF-16 text string") and Python
/// cannot encode it to UTF-8. Text for a model cannot be refused for one stray code unit (scraped data has them), so
/// SharpLM replaces each lone surrogate with U+FFFD, exactly what <see cref="System.Text.Encoding.UTF8"/> does when
/// such a string is marshalled to UTF-8, and what SharpLM's byte-level <see cref="BpeTokenizer"/> already encodes.
/// </summary>
internal static class HfText
{
    /// <summary>Index of the first unpaired surrogate, or -1 when the text is well-formed.</summary>
    public static int FirstLoneSurrogate(ReadOnlySpan<char> text)
    {
        int i = text.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (i < 0) return -1;
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            return i;
        }
        return -1;
    }

    /// <summary>The text with every lone surrogate replaced by U+FFFD (the same string when there is none).</summary>
    public static string Sanitize(string text)
    {
        int first = FirstLoneSurrogate(text);
        if (first < 0) return text;
        char[] chars = text.ToCharArray();
        for (int i = first; i < chars.Length; i++)
        {
            char c = chars[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) { i++; continue; }
            chars[i] = '\uFFFD';
        }
        return new string(chars);
    }
}
