using SharpLM.Data.Privacy;

namespace SharpLM.Tests.Data.Privacy;

public class EmailDetectionTests
{
    [Theory]
    [InlineData("Contact john.doe@example.com for details.", "john.doe@example.com")]
    [InlineData("x+tag@mail.co.uk", "x+tag@mail.co.uk")]
    [InlineData("我的邮箱是zhang.san@163.com，谢谢", "zhang.san@163.com")]
    [InlineData("<a href=\"mailto:alice_b@sub.example.org\">", "alice_b@sub.example.org")]
    [InlineData("Write to bob@example.com.", "bob@example.com")]
    [InlineData("...bob@example.com", "bob@example.com")]
    [InlineData("First-Last@Example-Mail.IO", "First-Last@Example-Mail.IO")]
    public void Addresses_are_found_without_surrounding_punctuation(string text, string address) =>
        Detected.Single(text, PiiType.Email, address);

    [Theory]
    [InlineData("ssh to user@localhost")]
    [InlineData("a@b")]
    [InlineData("one-letter tld a@b.c")]
    [InlineData("npm install lodash@4.17.21")]
    [InlineData("<img src=\"logo@2x.png\">")]
    [InlineData("thanks @username and @team")]
    [InlineData("user@host.c0m")]
    [InlineData("x@-bad.com")]
    public void Address_lookalikes_are_not_emails(string text) => Detected.Nothing(text);

    [Fact]
    public void Several_addresses_are_found_in_text_order_with_their_offsets()
    {
        const string text = "cc: a@example.com, b.c@example.net";
        var matches = new PiiDetector().Find(text);
        Assert.Equal(["a@example.com", "b.c@example.net"], matches.Select(m => m.Value));
        Assert.All(matches, m => Assert.Equal(m.Value, text.Substring(m.Start, m.Length)));
    }
}
