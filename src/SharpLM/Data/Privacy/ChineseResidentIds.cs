using System.Text.RegularExpressions;

namespace SharpLM.Data.Privacy;

/// <summary>
/// PRC resident identity numbers (GB 11643-1999): six digits of region, eight of birth date (YYYYMMDD), three of
/// sequence and an ISO 7064 MOD 11-2 check character (0–9 or X). A match needs a real province code (11–15, 21–23,
/// 31–37, 41–46, 50–54, 61–65, 71, 81–83), a real calendar birth date in 1900–2100 and the right check character,
/// so a random 18-digit number passes with a probability of about 3 in 100,000. Old 15-digit numbers (no check
/// digit) and numbers written with spaces inside are not detected.
/// </summary>
static partial class ChineseResidentIds
{
    [GeneratedRegex(@"\G(?<![0-9A-Za-z]|[0-9]\.)[1-8][0-9]{16}[0-9Xx](?![0-9A-Za-z]|\.[0-9])",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex Pattern();

    static ReadOnlySpan<byte> Weights => [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const string CheckCharacters = "10X98765432";

    public static bool TryMatch(string text, int runStart, int runEnd, out int start, out int length)
    {
        start = runStart;
        int digits = runEnd - runStart;
        bool shaped = digits == 18 || (digits == 17 && DigitRuns.At(text, runEnd) is 'X' or 'x');
        length = shaped ? DigitRuns.MatchLength(Pattern(), text, start) : 0;
        return length > 0 && IsValid(text.AsSpan(start, length));
    }

    /// <summary>The check character for the first 17 digits: Σ digit × weight, mod 11, mapped through 1 0 X 9 8 7 6 5 4 3 2.</summary>
    internal static char CheckCharacter(ReadOnlySpan<char> first17)
    {
        int sum = 0;
        for (int i = 0; i < 17; i++) sum += (first17[i] - '0') * Weights[i];
        return CheckCharacters[sum % 11];
    }

    /// <summary>Eighteen characters with a real province, a real birth date and the right check character.</summary>
    internal static bool IsValid(ReadOnlySpan<char> id) =>
        id.Length == 18
        && !id[..17].ContainsAnyExceptInRange('0', '9')
        && IsProvince(Number(id[..2]))
        && IsDate(Number(id[6..10]), Number(id[10..12]), Number(id[12..14]))
        && char.ToUpperInvariant(id[17]) == CheckCharacter(id);

    static int Number(ReadOnlySpan<char> digits)
    {
        int n = 0;
        foreach (char c in digits) n = n * 10 + (c - '0');
        return n;
    }

    static bool IsProvince(int code) =>
        code is >= 11 and <= 15 or >= 21 and <= 23 or >= 31 and <= 37 or >= 41 and <= 46
            or >= 50 and <= 54 or >= 61 and <= 65 or 71 or >= 81 and <= 83;

    static bool IsDate(int year, int month, int day) =>
        year is >= 1900 and <= 2100 && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(year, month);
}
