using System.Text.RegularExpressions;

namespace SharpLM.Data.Privacy;

/// <summary>
/// Phone numbers in two shapes that ordinary numbers do not take:
/// <list type="bullet">
/// <item>International: '+', a country code and further digit groups separated by single spaces, dots or dashes,
/// with optional parentheses ("+44 (0)20 7946 0958", "+1-415-555-2671"); 8 to 15 digits in all (E.164).</item>
/// <item>North American: "(415) 555-2671", "415-555-2671", "415.555.2671", optionally after "1-". Area code and
/// exchange must start with 2–9 as the numbering plan requires, which keeps out "123-456-7890"-style part numbers
/// (and the fictional "555-123-4567", whose exchange cannot exist).</item>
/// </list>
/// Without '+' or the 3-3-4 grouping nothing is a phone number: dates (2024-01-15, 15.01.2024, 2024/01/15), times,
/// versions (1.2.3, v10.0.401), plain numbers (1234567), prices (1,234,567.89), ISBNs (978-0-306-40615-7, whose
/// groups do not follow 3-3-4) and IP addresses all survive. Space-separated 3-3-4 digits ("200 300 4000") are not
/// phones either: they are more often columns of numbers.
/// </summary>
static partial class PhoneNumbers
{
    // Atomic, so that a number followed by a letter or digit fails at once instead of backtracking into a shorter one.
    [GeneratedRegex(@"\G(?<![0-9A-Za-z+])\+(?>[1-9][0-9]*(?:[ .\-]?\([0-9]+\)[ .\-]?[0-9]+|[ .\-][0-9]+)*)(?![0-9A-Za-z])",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex International();

    [GeneratedRegex(@"\G(?<![0-9A-Za-z+\-.])(?:1[\-.])?(?:\([2-9][0-9]{2}\) ?[2-9][0-9]{2}[\-. ][0-9]{4}|[2-9][0-9]{2}(?<sep>[\-.])[2-9][0-9]{2}\k<sep>[0-9]{4})(?![0-9A-Za-z]|[\-.][0-9])",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex NorthAmerican();

    public static bool TryMatchInternational(string text, int runStart, int runEnd, out int start, out int length)
    {
        start = runStart - 1;
        length = DigitRuns.At(text, start) == '+' ? DigitRuns.MatchLength(International(), text, start) : 0;
        int digits = 0;
        foreach (char c in text.AsSpan(runStart, Math.Max(length - 1, 0))) digits += char.IsAsciiDigit(c) ? 1 : 0;
        return digits is >= 8 and <= 15;  // E.164
    }

    public static bool TryMatchNorthAmerican(string text, int runStart, int runEnd, out int start, out int length)
    {
        char before = DigitRuns.At(text, runStart - 1), after = DigitRuns.At(text, runEnd);
        // The run is the area code ("(415)", "415-") or the trunk prefix of "1-800-..."; a number in parentheses,
        // "(415-555-2671)", starts at its digits.
        bool parenthesizedAreaCode = before == '(' && after == ')';
        start = parenthesizedAreaCode ? runStart - 1 : runStart;
        bool shaped = (runEnd - runStart) switch
        {
            3 => parenthesizedAreaCode || after is '-' or '.',
            1 => text[runStart] == '1' && after is '-' or '.',
            _ => false,
        };
        length = shaped ? DigitRuns.MatchLength(NorthAmerican(), text, start) : 0;
        return length > 0;
    }
}
