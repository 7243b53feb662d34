using System.Text;

namespace SharpLM.Tokenization.HuggingFace;

/// <summary>
/// The split of Llama-3's pre-tokenizer (<see cref="Llama3Pattern"/>) and of Qwen2's (<see cref="Qwen2Pattern"/>,
/// which takes digits one at a time instead of up to three), written out as code.
/// <para>Why not .NET's Regex? It classifies UTF-16 units, so a letter beyond the Basic Multilingual Plane arrives as two
/// surrogates that are not \p{L}, while Hugging Face's engine (Oniguruma) sees one letter; the two would split such
/// text differently. This matcher walks code points and makes, at every position, the choice the regex makes: the
/// first alternative that matches, each as greedy as it can be after backtracking.</para>
/// </summary>
internal static class Llama3PreTokenizer
{
    /// <summary>Llama-3's pattern, as its tokenizer.json spells it.</summary>
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2's pattern: Llama-3's with single digits.</summary>
    public const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Length in UTF-16 units of the piece at the start of <paramref name="text"/> (not empty, well-formed).</summary>
    public static int FirstPieceLength(ReadOnlySpan<char> text, int maxDigits)
    {
        char c0 = text[0];
        // (?i:'s|'t|'re|'ve|'m|'ll|'d): case-insensitive, so 'S, 'Re, 'LL too (and 'ſ, which folds to s).
        if (c0 == '\'' && text.Length > 1)
        {
            char c1 = text[1];
            char c2 = text.Length > 2 ? char.ToLowerInvariant(text[2]) : '\0';
            switch (c1)
            {
                case 's' or 'S' or 'ſ' or 't' or 'T' or 'm' or 'M' or 'd' or 'D': return 2;
                case 'r' or 'R' when c2 == 'e': return 3;
                case 'v' or 'V' when c2 == 'e': return 3;
                case 'l' or 'L' when c2 == 'l': return 3;
            }
        }

        CharCategory first = CharCategories.At(text, 0, out int w0);
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (first == CharCategory.Letter) return Run(text, 0, CharCategory.Letter, int.MaxValue);
        if (first != CharCategory.Number && c0 is not ('\r' or '\n') && w0 < text.Length && CharCategories.At(text, w0, out _) == CharCategory.Letter)
            return Run(text, w0, CharCategory.Letter, int.MaxValue);
        // \p{N}{1,3}
        if (first == CharCategory.Number) return Run(text, 0, CharCategory.Number, maxDigits);
        // " ?[^\s\p{L}\p{N}]+[\r\n]*"
        int otherStart = first == CharCategory.Other ? 0
            : c0 == ' ' && text.Length > 1 && CharCategories.At(text, 1, out _) == CharCategory.Other ? 1 : -1;
        if (otherStart >= 0)
        {
            int end = Run(text, otherStart, CharCategory.Other, int.MaxValue);
            while (end < text.Length && text[end] is '\r' or '\n') end++;
            return end;
        }

        // What is left starts with whitespace. \s*[\r\n]+ : through the last CR/LF of the whitespace run.
        int runEnd = 0, lastStart = 0, lastNewline = -1;
        while (runEnd < text.Length && CharCategories.At(text, runEnd, out int w) == CharCategory.Space)
        {
            if (text[runEnd] is '\r' or '\n') lastNewline = runEnd;
            lastStart = runEnd;
            runEnd += w;
        }
        if (lastNewline >= 0) return lastNewline + 1;
        // \s+(?!\S) leaves the last space to the next piece when text follows; \s+ takes a lone one.
        return runEnd == text.Length || lastStart == 0 ? runEnd : lastStart;
    }

    static int Run(ReadOnlySpan<char> text, int start, CharCategory category, int maxCount)
    {
        int end = start, count = 0;
        while (end < text.Length && count < maxCount && CharCategories.At(text, end, out int w) == category)
        {
            end += w;
            count++;
        }
        return end;
    }
}
