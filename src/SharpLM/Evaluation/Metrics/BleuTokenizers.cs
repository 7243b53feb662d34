using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// A BLEU tokenizer as sacrebleu names it (<c>tok:</c> in the signature). It turns a detokenized segment into
/// space-separated tokens; BLEU then splits on whitespace.
/// </summary>
public abstract class BleuTokenizer
{
    private protected BleuTokenizer() { }

    /// <summary>The name sacrebleu writes in the signature and accepts as <c>tokenize=</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The segment as space-separated tokens.</summary>
    public abstract string Tokenize(string line);

    /// <summary>mteval-v13a.pl's tokenizer, WMT's standard and sacrebleu's default.</summary>
    public static BleuTokenizer Mteval13a { get; } = new BleuTokenizer13a();
    /// <summary>mteval-v14.pl's international tokenizer: splits on Unicode punctuation and symbols.</summary>
    public static BleuTokenizer International { get; } = new BleuTokenizerIntl();
    /// <summary>Every character is a token (for languages without spaces).</summary>
    public static BleuTokenizer Character { get; } = new BleuTokenizerChar();
    /// <summary>The text is taken as already tokenized.</summary>
    public static BleuTokenizer None { get; } = new BleuTokenizerNone();
    /// <summary>sacrebleu's Chinese tokenizer: each CJK character a token, the rest as 13a.</summary>
    public static BleuTokenizer Chinese { get; } = new BleuTokenizerZh();

    /// <summary>The tokenizer sacrebleu calls <paramref name="name"/> ("13a", "intl", "char", "none", "zh").</summary>
    public static BleuTokenizer FromName(string name) => name switch
    {
        "13a" => Mteval13a,
        "intl" => International,
        "char" => Character,
        "none" => None,
        "zh" => Chinese,
        _ => throw new ArgumentException(
            $"unknown BLEU tokenizer '{name}'; expected one of 13a, intl, char, none, zh", nameof(name)),
    };

    /// <summary>The tokenizer's sacrebleu name, as <see cref="Name"/>.</summary>
    public override string ToString() => Name;
}

/// <summary>sacrebleu's <c>NoneTokenizer</c>.</summary>
internal sealed class BleuTokenizerNone : BleuTokenizer
{
    public override string Name => "none";
    public override string Tokenize(string line) => line;
}

/// <summary>sacrebleu's <c>TokenizerChar</c>: <c>" ".join(line)</c>, one token per code point.</summary>
internal sealed class BleuTokenizerChar : BleuTokenizer
{
    public override string Name => "char";

    public override string Tokenize(string line)
    {
        int[] offsets = PythonText.CodePointOffsets(line);
        var sb = new StringBuilder(line.Length * 2);
        for (int i = 0; i + 1 < offsets.Length; i++)
        {
            if (i > 0) sb.Append(' ');
            sb.Append(line, offsets[i], offsets[i + 1] - offsets[i]);
        }
        return sb.ToString();
    }
}

/// <summary>
/// sacrebleu's <c>TokenizerRegexp</c>, the language-dependent half of 13a (also used by zh). Its character classes
/// are ASCII, so matching UTF-16 units gives the same result as Python matching code points.
/// </summary>
internal static class MtevalRegexps
{
    static readonly (Regex Pattern, string Replacement)[] Rules =
    [
        // Separate out the ASCII symbols { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
        (new Regex(@"([{-~\[-`\x20-&(-+:-@/])", RegexOptions.CultureInvariant), " $1 "),
        // tokenize period and comma unless preceded by a digit
        (new Regex(@"([^0-9])([.,])", RegexOptions.CultureInvariant), "$1 $2 "),
        // tokenize period and comma unless followed by a digit
        (new Regex(@"([.,])([^0-9])", RegexOptions.CultureInvariant), " $1 $2"),
        // tokenize dash when preceded by a digit
        (new Regex(@"([0-9])(-)", RegexOptions.CultureInvariant), "$1 $2 "),
    ];

    public static string Apply(string line)
    {
        foreach (var (pattern, replacement) in Rules) line = pattern.Replace(line, replacement);
        return PythonText.CollapseWhitespace(line);
    }
}

/// <summary>sacrebleu's <c>Tokenizer13a</c> (mteval-v13a.pl).</summary>
internal sealed class BleuTokenizer13a : BleuTokenizer
{
    public override string Name => "13a";

    public override string Tokenize(string line)
    {
        // language-independent part, in sacrebleu's order
        line = line.Replace("<skipped>", "").Replace("-\n", "").Replace("\n", " ")
            .Replace("&quot;", "\"").Replace("&amp;", "&").Replace("&lt;", "<").Replace("&gt;", ">");
        // the padding lets a sentence-final period after a digit be split off, as mteval does
        return MtevalRegexps.Apply($" {line} ");
    }
}

/// <summary>
/// sacrebleu's <c>TokenizerV14International</c> (mteval-v14.pl): three substitutions with Unicode classes,
/// <c>(\P{N})(\p{P}) → "\1 \2 "</c>, <c>(\p{P})(\P{N}) → " \1 \2"</c>, <c>(\p{S}) → " \1 "</c>. They are applied
/// here over code points rather than with .NET Regex, whose <c>\p{..}</c> sees each half of a surrogate pair as
/// category Cs and would miss astral symbols such as emoji that Python's <c>regex</c> module splits off.
/// </summary>
internal sealed class BleuTokenizerIntl : BleuTokenizer
{
    public override string Name => "intl";

    public override string Tokenize(string line)
    {
        line = ReplacePairs(line, first: cp => !IsNumber(cp), second: IsPunctuation, spaceBefore: false);
        line = ReplacePairs(line, first: IsPunctuation, second: cp => !IsNumber(cp), spaceBefore: true);
        line = PadSymbols(line);
        return PythonText.CollapseWhitespace(line);
    }

    /// <summary>
    /// <c>re.sub</c> of a two-code-point pattern: scanning left to right, each non-overlapping pair that matches
    /// becomes "a b " (or " a b" when <paramref name="spaceBefore"/>), exactly the two replacements above.
    /// </summary>
    static string ReplacePairs(string s, Func<int, bool> first, Func<int, bool> second, bool spaceBefore)
    {
        var (cps, offsets) = Decode(s);
        var sb = new StringBuilder(s.Length + 16);
        int i = 0;
        while (i < cps.Length)
        {
            if (i + 1 < cps.Length && first(cps[i]) && second(cps[i + 1]))
            {
                if (spaceBefore) sb.Append(' ');
                sb.Append(s, offsets[i], offsets[i + 1] - offsets[i]).Append(' ');
                sb.Append(s, offsets[i + 1], offsets[i + 2] - offsets[i + 1]);
                if (!spaceBefore) sb.Append(' ');
                i += 2;
            }
            else
            {
                sb.Append(s, offsets[i], offsets[i + 1] - offsets[i]);
                i++;
            }
        }
        return sb.ToString();
    }

    static string PadSymbols(string s)
    {
        var (cps, offsets) = Decode(s);
        var sb = new StringBuilder(s.Length + 16);
        for (int i = 0; i < cps.Length; i++)
        {
            bool symbol = IsSymbol(cps[i]);
            if (symbol) sb.Append(' ');
            sb.Append(s, offsets[i], offsets[i + 1] - offsets[i]);
            if (symbol) sb.Append(' ');
        }
        return sb.ToString();
    }

    static (int[] CodePoints, int[] Offsets) Decode(string s)
    {
        int[] offsets = PythonText.CodePointOffsets(s);
        var cps = new int[offsets.Length - 1];
        for (int i = 0; i < cps.Length; i++)
            cps[i] = offsets[i + 1] - offsets[i] == 2 ? char.ConvertToUtf32(s[offsets[i]], s[offsets[i] + 1]) : s[offsets[i]];
        return (cps, offsets);
    }

    static bool IsNumber(int cp) => CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.DecimalDigitNumber
        or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    static bool IsPunctuation(int cp) => CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.ConnectorPunctuation
        or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
        or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
        or UnicodeCategory.OtherPunctuation;

    static bool IsSymbol(int cp) => CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.MathSymbol
        or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol or UnicodeCategory.OtherSymbol;
}

/// <summary>
/// sacrebleu's <c>TokenizerZh</c>: strips the line, surrounds each "Chinese" character with spaces, then applies
/// the 13a regexps (without 13a's entity unescaping or padding).
/// </summary>
internal sealed class BleuTokenizerZh : BleuTokenizer
{
    public override string Name => "zh";

    // sacrebleu's _UCODE_RANGES, compared as sacrebleu compares them: as Python strings against a one-character
    // string. Two of its entries were meant as astral ranges but are written '\u20000'..'\u2a6d6' and
    // '\u2f800'..'\u2fa1d', which Python reads as two-character strings ("\u2000" + "0", ...); a single character
    // then falls inside exactly when U+2001 <= c <= U+2A6D or U+2F81 <= c <= U+2FA1, and no astral character
    // falls in any range. Those effective ranges are listed here, so zh splits what sacrebleu's zh splits.
    static readonly (int First, int Last)[] Ranges =
    [
        (0x3400, 0x4db5), (0x4e00, 0x9fa5), (0x9fa6, 0x9fbb), (0xf900, 0xfa2d), (0xfa30, 0xfa6a), (0xfa70, 0xfad9),
        (0x2001, 0x2a6d), (0x2f81, 0x2fa1),
        (0xff00, 0xffef), (0x2e80, 0x2eff), (0x3000, 0x303f), (0x31c0, 0x31ef), (0x2f00, 0x2fdf), (0x2ff0, 0x2fff),
        (0x3100, 0x312f), (0x31a0, 0x31bf), (0xfe10, 0xfe1f), (0xfe30, 0xfe4f), (0x2600, 0x26ff), (0x2700, 0x27bf),
        (0x3200, 0x32ff), (0x3300, 0x33ff),
    ];

    public override string Tokenize(string line)
    {
        line = PythonText.Strip(line);
        var sb = new StringBuilder(line.Length * 2);
        foreach (char c in line)
        {
            // A surrogate is never Chinese here (see Ranges), so UTF-16 units can be tested one by one.
            if (IsChinese(c)) sb.Append(' ').Append(c).Append(' ');
            else sb.Append(c);
        }
        return MtevalRegexps.Apply(sb.ToString());
    }

    static bool IsChinese(char c)
    {
        foreach (var (first, last) in Ranges)
            if (c >= first && c <= last) return true;
        return false;
    }
}
