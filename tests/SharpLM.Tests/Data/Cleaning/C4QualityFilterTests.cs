using SharpLM.Data;
using SharpLM.Data.Cleaning;

namespace SharpLM.Tests.Data.Cleaning;

public class C4QualityFilterTests
{
    static FilterResult Run(string text) => new C4QualityFilter().Apply(new Document("d", text));

    const string Body = "The museum opened in 1901. It holds paintings from five centuries. Visitors come from all over the world. " +
        "The building itself is a landmark. Entry is free on Sundays.";

    [Fact]
    public void Boilerplate_lines_are_dropped_and_sentences_kept()
    {
        var r = Run("Home | About | Contact\n" + Body + "\nPlease enable JavaScript to view this page.\nThis site uses cookies.\nRead more");
        Assert.Equal(Body, r.Kept?.Text);
    }

    [Theory]
    [InlineData("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " + Body, "c4_lorem_ipsum")]
    [InlineData("function f() { return 1; }\n" + Body, "c4_curly_brace")]
    [InlineData("One sentence only here.", "c4_too_few_sentences")]
    public void Placeholder_code_and_thin_documents_are_rejected(string text, string reason) => Assert.Equal(reason, Run(text).Reason);

    [Fact]
    public void Chinese_lines_end_with_chinese_punctuation_and_count_characters_as_words()
    {
        string zh = "博物馆建于一九零一年。馆内收藏了五个世纪的绘画作品。每年都有来自世界各地的游客。建筑本身也是一座地标。周日免费开放！";
        var r = Run("首页\n" + zh + "\n好的");
        Assert.Equal(zh, r.Kept?.Text);
    }
}
