using SharpLM.Evaluation.Metrics;

namespace SharpLM.Tests.Evaluation.Metrics;

/// <summary>Expected values were checked against the functions of SQuAD's evaluate-v1.1.py.</summary>
public class AnswerMetricsTests
{
    [Theory]
    [InlineData("The Eiffel Tower!", "eiffel tower")]
    [InlineData("  An apple, a day...  ", "apple day")]
    [InlineData("the-end", "theend")] // punctuation goes before articles, so "the" is no longer a word
    [InlineData("an_the", "anthe")] // underscore is ASCII punctuation
    [InlineData("Theatre of the Absurd", "theatre of absurd")]
    [InlineData("\u201CQuoted\u201D  text", "\u201Cquoted\u201D text")] // only ASCII punctuation is removed
    [InlineData("A\u001CB", "b")] // U+001C is whitespace to Python: "a" stands alone and is an article
    [InlineData("\u00DCber THE Caf\u00E9", "\u00FCber caf\u00E9")]
    public void Normalizes_as_squad(string text, string normalized) =>
        Assert.Equal(normalized, AnswerMetrics.Normalize(text));

    [Fact]
    public void Exact_match_compares_normalized_answers()
    {
        Assert.Equal(1.0, AnswerMetrics.ExactMatch("The Denver Broncos.", "denver broncos"));
        Assert.Equal(0.0, AnswerMetrics.ExactMatch("Denver", "denver broncos"));
    }

    [Theory]
    [InlineData("the cat sat on the mat", "a cat sat", 2.0 / 3)] // P 2/4, R 2/2
    [InlineData("cat cat dog", "cat dog dog", 2.0 / 3)] // overlap counts multiplicity: one cat, one dog
    [InlineData("Denver Broncos", "Broncos", 2.0 / 3)]
    [InlineData("the", "a", 0.0)] // both normalize to nothing: 0 in v1.1 (v2.0's script would say 1)
    [InlineData("Carolina Panthers", "Denver Broncos", 0.0)]
    public void F1_is_token_overlap(string prediction, string gold, double f1) =>
        Assert.Equal(f1, AnswerMetrics.F1(prediction, gold), 12);

    [Fact]
    public void Several_gold_answers_take_the_best()
    {
        string[] gold = ["Carolina Panthers", "Denver Broncos win", "Broncos"];
        Assert.Equal(0.8, AnswerMetrics.F1("Denver Broncos", gold), 12); // P 1, R 2/3
        Assert.Equal(1.0, AnswerMetrics.ExactMatch("broncos", gold));
        Assert.Throws<ArgumentException>(() => AnswerMetrics.F1("x", Array.Empty<string>()));
    }
}
