using SharpLM.Data;
using SharpLM.Data.Cleaning;

namespace SharpLM.Tests.Data.Cleaning;

public class LanguageAndKeywordTests
{
    [Theory]
    [InlineData("The cat sat on the mat and looked at the birds in the garden, as it did every morning of the week.", "en")]
    [InlineData("Die Katze saß auf der Matte und sah die Vögel im Garten an, wie sie es jeden Morgen in der Woche tat.", "de")]
    [InlineData("Le chat était assis sur le tapis et regardait les oiseaux dans le jardin, comme il le faisait chaque matin.", "fr")]
    [InlineData("El gato estaba sentado en la alfombra y miraba los pájaros del jardín, como hacía cada mañana de la semana.", "es")]
    [InlineData("猫坐在垫子上，看着花园里的鸟，就像它每周每天早上做的那样。", "zh")]
    public void Five_languages_are_identified_with_confidence(string text, string language)
    {
        var guess = LanguageIdentifier.Identify(text);
        Assert.Equal(language, guess.Language);
        Assert.True(guess.Confidence >= 0.5, $"confidence {guess.Confidence}");
    }

    [Fact]
    public void Text_without_function_words_is_unknown_and_the_filter_keeps_only_allowed_languages()
    {
        Assert.Equal("unknown", LanguageIdentifier.Identify("1234 5678 !!!").Language);
        Assert.Equal("unknown", LanguageIdentifier.Identify("xyzzy plugh frobnicate quux grault garply").Language);
        var filter = new LanguageFilter(new[] { "en", "zh" });
        Assert.NotNull(filter.Apply(new Document("a", "The weather is nice and we are going to the park with the children today.")).Kept);
        Assert.NotNull(filter.Apply(new Document("b", "今天天气很好，我们带着孩子去公园。")).Kept);
        Assert.Equal("language_de", filter.Apply(new Document("c", "Das Wetter ist schön und wir gehen mit den Kindern in den Park.")).Reason);
    }

    [Fact]
    public void Keyword_block_list_matches_whole_words_and_cjk_substrings()
    {
        var filter = new KeywordFilter(new[] { "casino", "# comment", "", "赌场" });
        Assert.Equal("keyword_blocked", filter.Apply(new Document("a", "Best CASINO bonuses here")).Reason);
        Assert.NotNull(filter.Apply(new Document("b", "The casinos of Monaco are famous")).Kept); // whole words only
        Assert.Equal("keyword_blocked", filter.Apply(new Document("c", "澳门赌场很有名")).Reason);
        Assert.Throws<InvalidInputException>(() => new KeywordFilter(new[] { "", "# only comments" }));
    }
}
