using System.Text.RegularExpressions;

namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// sacrebleu's <c>TercomTokenizer</c> (<c>tokenizers/tokenizer_ter.py</c>, a port of tercom's Normalizer.java):
/// optional lowercasing, Western and Asian normalization and punctuation removal, then single spaces.
/// Every pattern is ASCII or a Basic Multilingual Plane range, so .NET's UTF-16 matching equals Python's.
/// </summary>
internal static class TercomTokenizer
{
    const RegexOptions Options = RegexOptions.CultureInvariant;

    static readonly (Regex Pattern, string Replacement)[] Western =
    [
        // tokenize punctuation
        (new Regex(@"([{-~\[-`\x20-&(-+:-@/])", Options), " $1 "),
        // handle possessives
        (new Regex(@"'s ", Options), " 's "),
        (new Regex(@"'s$", Options), " 's"),
        // tokenize period and comma unless preceded by a digit
        (new Regex(@"([^0-9])([.,])", Options), "$1 $2 "),
        // tokenize period and comma unless followed by a digit
        (new Regex(@"([.,])([^0-9])", Options), " $1 $2"),
        // tokenize dash when preceded by a digit
        (new Regex(@"([0-9])(-)", Options), "$1 $2 "),
    ];

    const string AsianPunctuation = @"([\u3001\u3002\u3008-\u3011\u3014-\u301f\uff61-\uff65\u30fb])";
    const string FullWidthPunctuation = @"([\uff0e\uff0c\uff1f\uff1a\uff1b\uff01\uff02\uff08\uff09])";

    static readonly (Regex Pattern, string Replacement)[] Asian =
    [
        // CJK Unified Ideographs and Extension A
        (new Regex(@"([\u4e00-\u9fff\u3400-\u4dbf])", Options), " $1 "),
        // CJK Strokes, CJK Radicals Supplement
        (new Regex(@"([\u31c0-\u31ef\u2e80-\u2eff])", Options), " $1 "),
        // CJK Compatibility, CJK Compatibility Ideographs, CJK Compatibility Forms
        (new Regex(@"([\u3300-\u33ff\uf900-\ufaff\ufe30-\ufe4f])", Options), " $1 "),
        // Enclosed CJK Letters and Months (sacrebleu's range runs on to U+3F22)
        (new Regex(@"([\u3200-\u3f22])", Options), " $1 "),
        // sacrebleu then splits Hiragana, Katakana and Katakana Phonetic Extensions runs with three patterns
        // anchored by ^ to the start of the line; normalization has padded the line with a space, so they never
        // match and are left out here.
        (new Regex(AsianPunctuation, Options), " $1 "),
        (new Regex(FullWidthPunctuation, Options), " $1 "),
    ];

    static readonly Regex Punctuation = new(@"[.,?:;!""()]", Options);
    static readonly Regex[] AsianPunctuationMarks = [new(AsianPunctuation, Options), new(FullWidthPunctuation, Options)];

    public static string Tokenize(string sentence, TerOptions options)
    {
        if (sentence.Length == 0) return "";
        if (!options.CaseSensitive) sentence = PythonText.Lower(sentence);

        if (options.Normalized)
        {
            // language-independent part: join hyphenated and broken lines, unescape XML
            sentence = sentence.Replace("\n-", "").Replace("\n", " ").Replace("&quot;", "\"")
                .Replace("&amp;", "&").Replace("&lt;", "<").Replace("&gt;", ">");
            sentence = Apply(Western, $" {sentence} ");
            if (options.AsianSupport) sentence = Apply(Asian, sentence);
        }

        if (options.NoPunctuation)
        {
            sentence = Punctuation.Replace(sentence, "");
            if (options.AsianSupport)
                foreach (var marks in AsianPunctuationMarks) sentence = marks.Replace(sentence, "");
        }
        return PythonText.CollapseWhitespace(sentence);
    }

    static string Apply((Regex Pattern, string Replacement)[] rules, string sentence)
    {
        foreach (var (pattern, replacement) in rules) sentence = pattern.Replace(sentence, replacement);
        return sentence;
    }
}
