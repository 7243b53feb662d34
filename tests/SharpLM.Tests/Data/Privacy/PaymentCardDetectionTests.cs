using SharpLM.Data.Privacy;

namespace SharpLM.Tests.Data.Privacy;

public class PaymentCardDetectionTests
{
    [Theory]
    [InlineData("card 4111 1111 1111 1111 exp 12/25", "4111 1111 1111 1111")]
    [InlineData("4111-1111-1111-1111", "4111-1111-1111-1111")]
    [InlineData("4111111111111111", "4111111111111111")]
    [InlineData("Mastercard 5555555555554444.", "5555555555554444")]
    [InlineData("Amex 378282246310005", "378282246310005")]
    [InlineData("Amex 3782 822463 10005", "3782 822463 10005")]
    [InlineData("Discover 6011111111111117", "6011111111111117")]
    [InlineData("卡号：6200000000000005。", "6200000000000005")]
    [InlineData("old Visa 4222222222222", "4222222222222")]
    [InlineData("Mastercard 2-series 2223003122003222", "2223003122003222")]
    public void Luhn_valid_numbers_of_known_issuers_are_cards(string text, string card) =>
        Detected.Single(text, PiiType.CreditCard, card);

    [Theory]
    [InlineData("4111 1111 1111 1112")]     // Luhn fails
    [InlineData("4111111111111112")]
    [InlineData("9111111111111110")]        // Luhn passes, no issuer starts with 9
    [InlineData("1700000000004")]           // a millisecond timestamp, Luhn-valid by chance
    [InlineData("41111111111114")]          // Luhn passes, but Visa has no 14-digit cards
    [InlineData("pi 0.4111111111111111")]   // a decimal fraction
    [InlineData("4111 1111-1111 1111")]     // mixed separators
    [InlineData("ISBN 9780306406157")]
    public void Invalid_checksums_unknown_issuers_and_fractions_are_not_cards(string text) =>
        Detected.Nothing(text);

    [Fact]
    public void Several_cards_in_one_text_are_each_found() =>
        Assert.Equal(
            [(PiiType.CreditCard, "4111 1111 1111 1111"), (PiiType.CreditCard, "5555-5555-5555-4444")],
            Detected.In("old 4111 1111 1111 1111, new 5555-5555-5555-4444"));

    [Fact]
    public void Luhn_check_matches_the_published_test_numbers()
    {
        static byte[] Digits(string s) => s.Where(char.IsAsciiDigit).Select(c => (byte)(c - '0')).ToArray();
        Assert.True(PaymentCards.PassesLuhn(Digits("4111 1111 1111 1111")));
        Assert.True(PaymentCards.PassesLuhn(Digits("79927398713")));
        Assert.False(PaymentCards.PassesLuhn(Digits("4111 1111 1111 1112")));
        Assert.False(PaymentCards.PassesLuhn(Digits("79927398710")));
    }
}
