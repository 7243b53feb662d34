using System.Text.RegularExpressions;

namespace SharpLM.Data.Privacy;

/// <summary>
/// Mainland-China mobile numbers: eleven digits starting 13–19 (the allocated mobile ranges; 10x–12x and ten- or
/// twelve-digit runs are not mobiles), written whole or grouped 3-4-4 by single spaces or dashes
/// ("138 1234 5678"), optionally after +86 / 0086 (with an optional space or dash) or a directly attached 86.
/// Mobile numbers carry no check digit, so the prefix and the length are all there is to validate. The number
/// must stand alone: not inside a longer digit run, an identifier ("ID13812345678") or a decimal fraction.
/// Chinese text may touch it directly ("手机号是13812345678，请联系").
/// </summary>
static partial class ChineseMobileNumbers
{
    [GeneratedRegex(@"\G(?<![0-9A-Za-z+]|[0-9]\.)(?:(?:\+|00)86[ \-]?|86)?1[3-9][0-9](?<sep>[ \-]?)[0-9]{4}\k<sep>[0-9]{4}(?![0-9A-Za-z]|\.[0-9])",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex Pattern();

    public static bool TryMatch(string text, int runStart, int runEnd, out int start, out int length)
    {
        char before = DigitRuns.At(text, runStart - 1);
        start = before == '+' ? runStart - 1 : runStart;
        length = CouldStart(text.AsSpan(runStart, runEnd - runStart), before, DigitRuns.At(text, runEnd))
            ? DigitRuns.MatchLength(Pattern(), text, start)
            : 0;
        return length > 0;
    }

    /// <summary>Whether the run is a whole number (with or without 86 / 0086) or the first group of one.</summary>
    static bool CouldStart(ReadOnlySpan<char> run, char before, char after) => run.Length switch
    {
        2 => run is "86" && before == '+',
        3 => IsMobilePrefix(run) && after is ' ' or '-',
        4 => run is "0086",
        11 => IsMobilePrefix(run),
        13 => run.StartsWith("86") && IsMobilePrefix(run[2..]),
        15 => run.StartsWith("0086") && IsMobilePrefix(run[4..]),
        _ => false,
    };

    static bool IsMobilePrefix(ReadOnlySpan<char> digits) => digits[0] == '1' && digits[1] >= '3';
}
