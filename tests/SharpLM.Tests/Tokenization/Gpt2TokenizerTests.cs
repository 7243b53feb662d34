using SharpLM.Tokenization;

namespace SharpLM.Tests.Tokenization;

public class Gpt2TokenizerTests
{
    [Fact]
    public void EncodesHelloWorldLikeOpenAi()
    {
        Assert.Equal([31373, 995], Gpt2Tokenizer.Instance.Encode("hello world"));
    }

    [Fact]
    public void EndOfTextInTextIsTheSpecialToken()
    {
        Assert.Equal([31373, 220, 50256], Gpt2Tokenizer.Instance.Encode("hello <|endoftext|>"));
        Assert.Equal(50256, Gpt2Tokenizer.Instance.EndOfTextId);
        Assert.Equal(50257, Gpt2Tokenizer.Instance.VocabSize);
    }

    [Fact]
    public void DecodeOfEncodeIsIdentityOnRandomUnicode()
    {
        foreach (string text in RandomText.Strings(seed: 9, count: 300))
            Assert.Equal(text, Gpt2Tokenizer.Instance.Decode(Gpt2Tokenizer.Instance.Encode(text)));
    }

    [Fact]
    public void SavesItsKindOnly()
    {
        using var directory = new TempDirectory();
        Gpt2Tokenizer.Instance.Save(directory.Path);

        Assert.Equal("""{"type":"gpt2"}""", File.ReadAllText(Path.Combine(directory.Path, "tokenizer.json")));
        Assert.Same(Gpt2Tokenizer.Instance, TokenizerFactory.Load(directory.Path));
    }
}
