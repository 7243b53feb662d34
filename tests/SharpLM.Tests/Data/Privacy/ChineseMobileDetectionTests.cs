using SharpLM.Data.Privacy;

namespace SharpLM.Tests.Data.Privacy;

public class ChineseMobileDetectionTests
{
    [Theory]
    [InlineData("我的手机号是13812345678，请联系", "13812345678")]
    [InlineData("手机：+86 138 1234 5678。", "+86 138 1234 5678")]
    [InlineData("+86-13912345678", "+86-13912345678")]
    [InlineData("008613712345678", "008613712345678")]
    [InlineData("8615012345678", "8615012345678")]
    [InlineData("联系139-1234-5678", "139-1234-5678")]
    [InlineData("Tel:19912345678.", "19912345678")]
    [InlineData("(+86)18612345678", "18612345678")]
    [InlineData("13812345678", "13812345678")]
    [InlineData("0086 138 1234 5678", "0086 138 1234 5678")]
    public void Mobile_numbers_with_valid_prefixes_are_found(string text, string mobile) =>
        Detected.Single(text, PiiType.ChineseMobile, mobile);

    [Fact]
    public void Consecutive_numbers_are_separate_matches() =>
        Assert.Equal(
            [(PiiType.ChineseMobile, "13812345678"), (PiiType.ChineseMobile, "139 8765 4321")],
            Detected.In("a: 13812345678, b: 139 8765 4321"));

    [Theory]
    [InlineData("号码12345678901")]          // 12x is not a mobile range
    [InlineData("号码10812345678")]          // nor is 10x
    [InlineData("号码1381234567")]           // ten digits
    [InlineData("号码138123456789")]         // twelve digits
    [InlineData("订单号2013812345678")]      // inside a longer run
    [InlineData("ID13812345678")]
    [InlineData("ratio 3.13812345678")]
    [InlineData("138-1234 5678")]           // mixed separators
    public void Invalid_prefixes_lengths_and_embedded_digits_are_not_mobiles(string text) =>
        Detected.Nothing(text);
}
