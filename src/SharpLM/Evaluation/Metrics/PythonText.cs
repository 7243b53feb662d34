using System.Globalization;
using System.Text;

namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// The few Python <c>str</c> operations the reference metrics (sacrebleu, SQuAD, lm-eval) are built on, with Python's
/// exact semantics, so that scores match them on any text: Python counts code points (a .NET string counts UTF-16 units, two for an
/// emoji), its notion of whitespace is wider than <see cref="char.IsWhiteSpace(char)"/>, and its
/// <c>lower()</c> applies the full Unicode lowercase mapping.
/// </summary>
internal static class PythonText
{
    /// <summary>
    /// Python's <c>str.isspace()</c> for one UTF-16 unit: .NET's whitespace plus U+001C..U+001F, which Python counts as
    /// whitespace (bidirectional class B/S) and .NET does not. No astral code point is whitespace.
    /// </summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    /// <summary>Python's <c>s.split()</c>: the runs of non-whitespace, in order.</summary>
    public static List<string> Split(string s)
    {
        var words = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && IsSpace(s[i])) i++;
            int start = i;
            while (i < s.Length && !IsSpace(s[i])) i++;
            if (i > start) words.Add(s[start..i]);
        }
        return words;
    }

    /// <summary>Python's <c>' '.join(s.split())</c>: trims and collapses every whitespace run to one space.</summary>
    public static string CollapseWhitespace(string s) => string.Join(' ', Split(s));

    /// <summary>Python's <c>s.strip()</c>.</summary>
    public static string Strip(string s) => RStrip(LStrip(s));

    /// <summary>Python's <c>s.rstrip()</c>.</summary>
    public static string RStrip(string s)
    {
        int end = s.Length;
        while (end > 0 && IsSpace(s[end - 1])) end--;
        return s[..end];
    }

    static string LStrip(string s)
    {
        int start = 0;
        while (start < s.Length && IsSpace(s[start])) start++;
        return s[start..];
    }

    /// <summary>
    /// The UTF-16 offset where each code point starts, plus the string's length at the end: code point i is
    /// <c>s[offsets[i]..offsets[i + 1]]</c>. A surrogate pair is one code point (as in Python); a lone surrogate is
    /// kept as a code point of its own rather than replaced.
    /// </summary>
    public static int[] CodePointOffsets(string s)
    {
        var offsets = new List<int>(s.Length + 1);
        for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1) offsets.Add(i);
        offsets.Add(s.Length);
        return [.. offsets];
    }

    /// <summary>
    /// Python's <c>str.lower()</c>. <see cref="string.ToLowerInvariant"/> gives the simple one-to-one mapping;
    /// Python also applies the two unconditional-language SpecialCasing rules: U+0130 (İ) lowers to two code points,
    /// "i" + combining dot above, and a capital sigma that ends a word lowers to final sigma ς.
    /// </summary>
    public static string Lower(string s)
    {
        string lowered = s.ToLowerInvariant();
        if (s.IndexOf('\u0130') < 0 && s.IndexOf('\u03a3') < 0) return lowered;
        var sb = new StringBuilder(s.Length + 4);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\u0130') sb.Append("i\u0307");
            else if (s[i] == '\u03a3') sb.Append(IsFinalSigma(s, i) ? '\u03c2' : '\u03c3');
            else sb.Append(lowered[i]); // simple mapping keeps every UTF-16 unit in place
        }
        return sb.ToString();
    }

    /// <summary>
    /// Unicode's Final_Sigma context, as CPython's <c>handle_capital_sigma</c> tests it: a cased letter before the
    /// sigma and none after it, skipping case-ignorable characters both ways (by code point).
    /// </summary>
    static bool IsFinalSigma(string s, int i)
    {
        int j = i;
        int before = -1;
        while (j > 0)
        {
            j -= j >= 2 && char.IsSurrogatePair(s[j - 2], s[j - 1]) ? 2 : 1;
            before = CodePointAt(s, j);
            if (!IsCaseIgnorable(before)) break;
            before = -1;
        }
        if (before < 0 || !IsCased(before)) return false;
        for (j = i + 1; j < s.Length; j += char.IsSurrogatePair(s, j) ? 2 : 1)
        {
            int after = CodePointAt(s, j);
            if (!IsCaseIgnorable(after)) return !IsCased(after);
        }
        return true;
    }

    static int CodePointAt(string s, int i) => char.IsSurrogatePair(s, i) ? char.ConvertToUtf32(s, i) : s[i];

    // Cased and Case_Ignorable are derived Unicode properties that .NET does not expose. Case_Ignorable is
    // Mn/Me/Cf/Lm/Sk plus the word-break MidLetter/MidNumLet/Single_Quote characters. Cased is Lu/Ll/Lt plus
    // Other_Lowercase/Other_Uppercase; of those only the ones that are not themselves case-ignorable can decide
    // the context, which leaves ª, º, the Roman numerals, circled letters and squared/negative-squared capitals.
    static bool IsCased(int cp) => CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.UppercaseLetter
            or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        || cp is 0xaa or 0xba or (>= 0x2160 and <= 0x217f) or (>= 0x24b6 and <= 0x24e9)
            or (>= 0x1f130 and <= 0x1f149) or (>= 0x1f150 and <= 0x1f169) or (>= 0x1f170 and <= 0x1f189);

    static bool IsCaseIgnorable(int cp) =>
        CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || cp is '\'' or '.' or ':' or 0xb7 or 0x387 or 0x55f or 0x5f4 or 0x2018 or 0x2019 or 0x2024 or 0x2027
            or 0xfe13 or 0xfe52 or 0xfe55 or 0xff07 or 0xff0e or 0xff1a;
}
