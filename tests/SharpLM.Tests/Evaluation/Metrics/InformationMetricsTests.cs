using SharpLM.Evaluation.Metrics;

namespace SharpLM.Tests.Evaluation.Metrics;

public class InformationMetricsTests
{
    [Fact]
    public void Perplexity_of_a_uniform_four_way_guess_is_four() =>
        Assert.Equal(4.0, InformationMetrics.Perplexity(10 * Math.Log(0.25), 10), 12);

    [Fact]
    public void Word_perplexity_counts_words_as_lm_eval()
    {
        // Three words, each with probability 1/5.
        Assert.Equal(5.0, InformationMetrics.WordPerplexity(3 * Math.Log(0.2), "hello big\tworld"), 12);
    }

    [Theory]
    [InlineData("hello big world", 3)]
    [InlineData("a\t\tb\nc", 3)]
    [InlineData(" a  b ", 4)] // re.split gives ['', 'a', 'b', '']
    [InlineData("", 1)]
    [InlineData("a\u001Cb", 2)] // Python's \s includes U+001C
    [InlineData("a\u00A0b", 2)]
    public void Counts_words_as_re_split_on_whitespace(string text, int words) =>
        Assert.Equal(words, InformationMetrics.CountWords(text));

    [Fact]
    public void Bits_per_byte_uses_utf8_bytes()
    {
        Assert.Equal(2.0, InformationMetrics.BitsPerByte(-8 * Math.Log(2), 4), 12);
        // "héllo" is 6 bytes.
        Assert.Equal(1.0, InformationMetrics.BitsPerByte(-6 * Math.Log(2), "h\u00E9llo"), 12);
    }

    [Fact]
    public void Bits_per_character_counts_code_points()
    {
        // "héllo👋" is 6 characters (7 UTF-16 units, 10 bytes).
        Assert.Equal(2.0, InformationMetrics.BitsPerCharacter(-12 * Math.Log(2), "h\u00E9llo\U0001F44B"), 12);
        Assert.Equal(0.5, InformationMetrics.BitsPerCharacter(-Math.Log(2), 2), 12);
    }

    [Fact]
    public void Counts_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => InformationMetrics.Perplexity(-1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => InformationMetrics.BitsPerByte(-1, ""));
    }
}
