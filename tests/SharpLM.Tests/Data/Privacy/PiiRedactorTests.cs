using SharpLM.Data.Privacy;

namespace SharpLM.Tests.Data.Privacy;

public class PiiRedactorTests
{
    [Fact]
    public void Each_type_is_replaced_by_its_placeholder_and_counted()
    {
        const string text =
            "Mail a@example.com or b@example.org, call +1 415-555-2671 or 13812345678, " +
            "host 192.168.1.1 / 2001:db8::1, card 4111 1111 1111 1111, ID 11010519491231002X, " +
            "db postgres://admin:pw@db.example.com/app.";
        var result = new PiiRedactor().Redact(text);
        Assert.Equal(
            "Mail <EMAIL> or <EMAIL>, call <PHONE> or <CN_MOBILE>, " +
            "host <IPV4> / <IPV6>, card <CREDIT_CARD>, ID <CN_ID>, " +
            "db postgres://<CREDENTIALS>@db.example.com/app.",
            result.Text);
        Assert.Equal(2, result.Count(PiiType.Email));
        foreach (var type in Enum.GetValues<PiiType>().Where(t => t != PiiType.Email))
            Assert.Equal(1, result.Count(type));
        Assert.Equal(9, result.Total);
    }

    [Fact]
    public void Text_without_pii_comes_back_as_the_same_string_with_no_counts()
    {
        string text = string.Concat(Enumerable.Repeat("To be, or not to be: that is the question. ", 100));
        var result = new PiiRedactor().Redact(text);
        Assert.Same(text, result.Text);
        Assert.Empty(result.Counts);
        Assert.Equal(0, result.Count(PiiType.Email));
        Assert.Equal(0, result.Total);
    }

    [Fact]
    public void Dates_versions_prices_and_ordinary_numbers_survive_untouched()
    {
        const string text =
            "Released 2024-01-15 (15.01.2024, 2024/01/15) at 12:30:45 as version 1.2.3, v10.0.401, " +
            "Windows 10.0.19041.1 and 1.2.3.4.5. It costs $1,234,567.89 or 1234567 units; ISBN 978-0-306-40615-7; " +
            "pi is 3.14159265358979, ratio 3:2, C++11, std::vector, a[1::2], order 12345678901234, room 101, " +
            "card-like 4111 1111 1111 1112, ID-like 110105194912310021. " +
            "2024年1月15日发布，价格为1,234.56元，订单号202401150001，版本 1.2.3.4。";
        var result = new PiiRedactor().Redact(text);
        Assert.Equal(text, result.Text);
        Assert.Equal(0, result.Total);
    }

    [Fact]
    public void A_custom_placeholder_scheme_replaces_the_default()
    {
        var redactor = new PiiRedactor(placeholder: type => $"[{type}]");
        Assert.Equal("mail [Email], 手机[ChineseMobile]。", redactor.Redact("mail x@example.com, 手机13812345678。").Text);
    }

    [Fact]
    public void A_null_placeholder_is_refused_when_the_redactor_is_built() =>
        Assert.Throws<ArgumentException>(() => new PiiRedactor(placeholder: type => type == PiiType.IPv6 ? null! : "x"));

    [Fact]
    public void Disabled_types_are_left_in_place()
    {
        var redactor = new PiiRedactor(new PiiOptions { Phone = false, IPv4 = false });
        var result = redactor.Redact("call 415-555-2671 at 10.0.0.1 or a@example.com");
        Assert.Equal("call 415-555-2671 at 10.0.0.1 or <EMAIL>", result.Text);
        Assert.Equal(1, result.Total);
    }
}
