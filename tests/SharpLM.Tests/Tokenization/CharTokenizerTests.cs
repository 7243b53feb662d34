using System.Text;
using SharpLM.Tokenization;

namespace SharpLM.Tests.Tokenization;

public class CharTokenizerTests
{
    [Fact]
    public void IdsMatchNanoGptOnAsciiText()
    {
        // nanoGPT: chars = sorted(set(text)) → ['\n', ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
        var tokenizer = CharTokenizer.FromText("hello world\n");

        Assert.Equal(9, tokenizer.VocabSize);
        Assert.Equal([4, 3, 5, 5, 6, 1, 8, 6, 7, 5, 2, 0], tokenizer.Encode("hello world\n"));
        Assert.Null(tokenizer.EndOfTextId);
    }

    [Fact]
    public void AnEmojiIsOneToken()
    {
        var tokenizer = CharTokenizer.FromText("a😀b");

        Assert.Equal(3, tokenizer.VocabSize);
        Assert.Equal([2], tokenizer.Encode("😀")); // U+1F600 sorts after 'b'
        Assert.Equal("😀", tokenizer.Decode([2]));
    }

    [Fact]
    public void DecodeOfEncodeIsIdentityOverItsAlphabet()
    {
        var tokenizer = CharTokenizer.FromText(string.Concat(RandomText.Strings(seed: 7, count: 50)));
        var random = new Random(8);
        for (int i = 0; i < 300; i++)
        {
            var text = new StringBuilder();
            for (int j = random.Next(0, 60); j > 0; j--) text.Append(tokenizer.Vocabulary[random.Next(tokenizer.VocabSize)].ToString());
            Assert.Equal(text.ToString(), tokenizer.Decode(tokenizer.Encode(text.ToString())));
        }
    }

    [Fact]
    public void UnknownCharacterIsNamedInTheError()
    {
        var tokenizer = CharTokenizer.FromText("abc");

        var error = Assert.Throws<InvalidInputException>(() => tokenizer.Encode("abé"));
        Assert.Contains("U+00E9 'é'", error.Message);
        var newline = Assert.Throws<InvalidInputException>(() => tokenizer.Encode("a\n"));
        Assert.DoesNotContain("\n", newline.Message);
        Assert.Contains("U+000A", newline.Message);
    }

    [Fact]
    public void UnpairedSurrogateIsRejected()
    {
        Assert.Throws<InvalidInputException>(() => CharTokenizer.FromText("ab").Encode("a\uD800b"));
    }

    [Fact]
    public void SavedTokenizerLoadsWithTheSameVocabulary()
    {
        using var directory = new TempDirectory();
        var tokenizer = CharTokenizer.FromText("To be, or not to be 😀\n");
        tokenizer.Save(directory.Path);

        Assert.StartsWith("""{"type":"char","vocab":["\n"," ",""", File.ReadAllText(Path.Combine(directory.Path, "tokenizer.json")));
        var loaded = Assert.IsType<CharTokenizer>(TokenizerFactory.Load(directory.Path));
        Assert.Equal(tokenizer.Vocabulary, loaded.Vocabulary);
    }
}
