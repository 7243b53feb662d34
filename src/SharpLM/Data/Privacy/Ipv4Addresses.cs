using System.Text.RegularExpressions;

namespace SharpLM.Data.Privacy;

/// <summary>
/// Dotted-quad IPv4 addresses: four octets 0–255 without leading zeros ("192.168.01.1" is not one), standing alone:
/// not inside a longer dotted run ("1.2.3.4.5" is a version), not glued to a letter ("v1.2.3.4") and not after
/// a version word ("version 1.2.3.4", "Version: 1.2.3.4", "ver. 1.2.3.4", "版本 1.2.3.4"). A bare "1.2.3.4" is an
/// address: out of context the two readings cannot be told apart, and redacting is the safe side. Dates
/// (15.01.2024) and most version strings (10.0.19041.1) fail the octet range anyway. Loopback and private
/// addresses are redacted too: a rule that kept them would be one more thing to get wrong, and an internal
/// address can still identify a network.
/// </summary>
static partial class Ipv4Addresses
{
    [GeneratedRegex(@"\G(?<![0-9A-Za-z.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?![0-9A-Za-z]|\.[0-9])",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex Pattern();

    public static bool TryMatch(string text, int runStart, int runEnd, out int start, out int length)
    {
        start = runStart;
        bool shaped = runEnd - runStart <= 3 && DigitRuns.At(text, runEnd) == '.' && DigitRuns.At(text, runStart - 1) != '.';
        length = shaped ? DigitRuns.MatchLength(Pattern(), text, start) : 0;
        return length > 0 && !FollowsVersionWord(text.AsSpan(0, start));
    }

    static bool FollowsVersionWord(ReadOnlySpan<char> before)
    {
        before = before.TrimEnd(" \t:.");
        if (before.EndsWith("版本", StringComparison.Ordinal)) return true;
        int wordStart = before.Length;
        while (wordStart > 0 && char.IsAsciiLetter(before[wordStart - 1])) wordStart--;
        var word = before[wordStart..];
        return word.Equals("version", StringComparison.OrdinalIgnoreCase)
            || word.Equals("ver", StringComparison.OrdinalIgnoreCase)
            || word.Equals("v", StringComparison.OrdinalIgnoreCase);
    }
}
