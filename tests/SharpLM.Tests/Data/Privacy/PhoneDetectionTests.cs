using SharpLM.Data.Privacy;

namespace SharpLM.Tests.Data.Privacy;

public class PhoneDetectionTests
{
    [Theory]
    [InlineData("Call +1 415-555-2671 today", "+1 415-555-2671")]
    [InlineData("London: +44 20 7946 0958.", "+44 20 7946 0958")]
    [InlineData("+44 (0)20 7946 0958", "+44 (0)20 7946 0958")]
    [InlineData("Berlin +49.30.123456", "+49.30.123456")]
    [InlineData("Paris +33 1 23 45 67 89", "+33 1 23 45 67 89")]
    [InlineData("电话：+81-3-1234-5678。", "+81-3-1234-5678")]
    [InlineData("office (415) 555-2671", "(415) 555-2671")]
    [InlineData("office 415-555-2671", "415-555-2671")]
    [InlineData("office 415.555.2671", "415.555.2671")]
    [InlineData("toll-free 1-800-555-0199", "1-800-555-0199")]
    [InlineData("(415) 555-2671", "(415) 555-2671")]
    [InlineData("+14155552671", "+14155552671")]
    [InlineData("call (415-555-2671) now", "415-555-2671")]
    public void International_and_north_american_numbers_are_found(string text, string phone) =>
        Detected.Single(text, PiiType.Phone, phone);

    [Theory]
    [InlineData("Released 2024-01-15")]
    [InlineData("am 15.01.2024 erschienen")]
    [InlineData("on 2024/01/15 at 12:30:45")]
    [InlineData("version 1.2.3 and v10.0.401")]
    [InlineData("1234567 units")]
    [InlineData("costs 1,234,567.89 dollars")]
    [InlineData("ISBN 978-0-306-40615-7 and 0-306-40615-2")]
    [InlineData("part 123-456-7890")]
    [InlineData("the fictional 555-123-4567")]
    [InlineData("columns 200 300 4000")]
    [InlineData("+1234 is too short")]
    [InlineData("+1 234 567 890 123 456 789 is too long")]
    [InlineData("x+12345678 is an expression")]
    [InlineData("ticket 415-555-2671-22")]
    [InlineData("C++11 and 2+2=4")]
    public void Dates_versions_and_ordinary_numbers_are_not_phones(string text) => Detected.Nothing(text);
}
