using System.Text.RegularExpressions;

namespace SharpLM.Data.Privacy;

/// <summary>
/// Payment-card numbers: 13–19 digits, contiguous or in the groupings cards are printed with (4-4-4-4, 4-4-4-4-3,
/// Amex/Diners 4-6-5 and 4-6-4, one separator — space or dash — used throughout), accepted only when the Luhn check
/// digit is right and the number has a real issuer prefix and a length that issuer uses. Long ordinary numbers
/// rarely pass both: 13-digit millisecond timestamps start with 1 (no issuer), ISBN-13s with 97, and decimal
/// fractions ("0.4111111111111111") are not stand-alone numbers.
/// </summary>
static partial class PaymentCards
{
    [GeneratedRegex(@"\G(?<![0-9A-Za-z]|[0-9]\.)(?:[0-9]{13,19}|[0-9]{4}(?<sep>[ \-])[0-9]{4}\k<sep>[0-9]{4}\k<sep>[0-9]{4}(?:\k<sep>[0-9]{3})?|[0-9]{4}(?<amex>[ \-])[0-9]{6}\k<amex>[0-9]{4,5})(?![0-9A-Za-z]|\.[0-9])",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex Pattern();

    /// <summary>
    /// An issuer: a prefix range, compared on as many leading digits as <see cref="Low"/> has, and the card lengths
    /// it issues as a bit mask (bit n set: n digits).
    /// </summary>
    readonly record struct Issuer(int Low, int High, int LengthMask)
    {
        public int PrefixDigits => Low < 10 ? 1 : Low < 100 ? 2 : Low < 1000 ? 3 : 4;
    }

    static readonly Issuer[] Issuers =
    [
        new(4, 4, Lengths(13, 16, 19)),           // Visa
        new(51, 55, Lengths(16)),                 // Mastercard
        new(2221, 2720, Lengths(16)),             // Mastercard 2-series
        new(34, 34, Lengths(15)),                 // American Express
        new(37, 37, Lengths(15)),                 // American Express
        new(6011, 6011, LengthRange(16, 19)),     // Discover
        new(644, 649, LengthRange(16, 19)),       // Discover
        new(65, 65, LengthRange(16, 19)),         // Discover
        new(3528, 3589, LengthRange(16, 19)),     // JCB
        new(300, 305, LengthRange(14, 19)),       // Diners Club
        new(36, 36, LengthRange(14, 19)),         // Diners Club
        new(38, 39, LengthRange(16, 19)),         // Diners Club
        new(62, 62, LengthRange(16, 19)),         // UnionPay
        new(2200, 2204, LengthRange(16, 19)),     // Mir
        new(5018, 5018, LengthRange(13, 19)),     // Maestro
        new(5020, 5020, LengthRange(13, 19)),     // Maestro
        new(5038, 5038, LengthRange(13, 19)),     // Maestro
        new(5893, 5893, LengthRange(13, 19)),     // Maestro
        new(6304, 6304, LengthRange(13, 19)),     // Maestro
        new(6759, 6759, LengthRange(13, 19)),     // Maestro
        new(6761, 6763, LengthRange(13, 19)),     // Maestro
    ];

    static int Lengths(params int[] lengths) => lengths.Aggregate(0, (mask, n) => mask | 1 << n);
    static int LengthRange(int min, int max) => Lengths([.. Enumerable.Range(min, max - min + 1)]);

    public static bool TryMatch(string text, int runStart, int runEnd, out int start, out int length)
    {
        start = runStart;
        int digits = runEnd - runStart;
        bool shaped = digits is >= 13 and <= 19 || (digits == 4 && DigitRuns.At(text, runEnd) is ' ' or '-');
        length = shaped ? DigitRuns.MatchLength(Pattern(), text, start) : 0;
        return length > 0 && IsValid(text.AsSpan(start, length));
    }

    /// <summary>A known issuer with a length it uses, and a correct Luhn check digit; separators are skipped.</summary>
    static bool IsValid(ReadOnlySpan<char> number)
    {
        Span<byte> digits = stackalloc byte[19];
        int count = 0;
        foreach (char c in number)
            if (char.IsAsciiDigit(c)) digits[count++] = (byte)(c - '0');
        return HasIssuer(digits[..count]) && PassesLuhn(digits[..count]);
    }

    /// <summary>Luhn (mod 10): from the right, double every second digit (subtracting 9 above 9); the sum ends in 0.</summary>
    internal static bool PassesLuhn(ReadOnlySpan<byte> digits)
    {
        int sum = 0;
        for (int i = digits.Length - 1, position = 0; i >= 0; i--, position++)
        {
            int d = digits[i];
            if (position % 2 == 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
            sum += d;
        }
        return sum % 10 == 0;
    }

    static bool HasIssuer(ReadOnlySpan<byte> digits)
    {
        foreach (var issuer in Issuers)
        {
            int prefix = 0;
            for (int i = 0; i < issuer.PrefixDigits; i++) prefix = prefix * 10 + digits[i];
            if (prefix >= issuer.Low && prefix <= issuer.High) return (issuer.LengthMask & 1 << digits.Length) != 0;
        }
        return false;
    }
}
