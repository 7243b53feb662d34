using SharpLM.Data;
using SharpLM.Data.Cleaning;

namespace SharpLM.Tests.Data.Cleaning;

public class GopherFilterTests
{
    const string English = "The history of the printing press is a story of how ideas spread. Before it, books were copied by hand, " +
        "which made them rare and expensive. With movable type, a workshop could produce hundreds of copies of a text in the time " +
        "a scribe needed for one. Scholars have argued that this change helped the Reformation, the scientific revolution and the " +
        "growth of literacy across Europe, although the effects took generations to unfold and differed from place to place.";

    const string Chinese = "大型语言模型是在大量文本数据上训练的深度学习模型。研究人员发现，当模型的规模和数据的规模同时扩大时，" +
        "模型在翻译、问答和推理等任务上的表现会明显提高。这种现象被称为涌现能力，它是近年来人工智能领域最受关注的话题之一。";

    static string? Quality(string text, GopherQualityOptions? o = null) => new GopherQualityFilter(o).Apply(new Document("d", text)).Reason;
    static string? Repetition(string text) => new GopherRepetitionFilter().Apply(new Document("d", text)).Reason;

    [Fact]
    public void Ordinary_prose_passes_both_filters_in_english_and_chinese()
    {
        Assert.Null(Quality(English));
        Assert.Null(Repetition(English));
        Assert.Null(Quality(Chinese));
        Assert.Null(Repetition(Chinese));
    }

    [Fact]
    public void Chinese_words_are_characters_not_whitespace_runs()
    {
        var s = new TextStatistics(Chinese);
        Assert.True(s.IsCjk);
        Assert.True(s.Words.Count > 80, $"{s.Words.Count} words"); // whitespace splitting would give 1
    }

    [Theory]
    [InlineData("Short text with the and of.", "gopher_too_few_words")]
    [InlineData("a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p q r s t u v w x y z the of", "gopher_short_mean_word")]
    public void Length_rules_reject(string text, string reason) => Assert.Equal(reason, Quality(text));

    [Fact]
    public void Symbol_bullet_ellipsis_alphabetic_and_stop_word_rules_reject()
    {
        string words = string.Join(' ', Enumerable.Repeat("the cat sat with the dog and that was fine", 6));
        Assert.Equal("gopher_symbol_ratio", Quality(words + " " + string.Join(' ', Enumerable.Repeat("#tag", 12))));
        Assert.Equal("gopher_bullet_lines", Quality(string.Join('\n', Enumerable.Repeat("• the item of the list with words", 10))));
        Assert.Equal("gopher_ellipsis_lines", Quality(string.Join('\n', Enumerable.Range(0, 10).Select(i => $"the story of line {i} goes on and on with the tale of the long day and the night…"))));
        Assert.Equal("gopher_non_alphabetic", Quality(words + " " + string.Join(' ', Enumerable.Range(0, 60).Select(i => (i * 37).ToString()))));
        Assert.Equal("gopher_stop_words", Quality(string.Join(' ', Enumerable.Repeat("quick brown foxes jumped over lazy dogs", 10))));
        Assert.Equal("gopher_stop_words", Quality(Chinese.Replace("的", "").Replace("了", "").Replace("是", "").Replace("在", "").Replace("和", "").Replace("有", "")));
    }

    [Fact]
    public void Repeated_lines_paragraphs_and_ngrams_reject_in_english_and_chinese()
    {
        Assert.Equal("gopher_duplicate_lines", Repetition(string.Join('\n', Enumerable.Repeat("Click here to subscribe to our newsletter today", 5)) + "\n" + English));
        Assert.Equal("gopher_duplicate_paragraphs", Repetition(string.Join("\n\n", Enumerable.Repeat("Buy now. Limited offer.", 4)) + "\n\n" + English));
        Assert.StartsWith("gopher_", Repetition(English + " " + string.Join(' ', Enumerable.Repeat("best cheap watches online", 30))));
        Assert.StartsWith("gopher_", Repetition(Chinese + string.Concat(Enumerable.Repeat("点击这里购买", 20))));
    }
}
