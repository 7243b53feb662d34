using SharpLM.Tokenization;

namespace SharpLM.Tests.Tokenization;

public class TokenizerFactoryTests
{
    [Fact]
    public void Gpt2SpecLoadsGpt2()
    {
        Assert.Same(Gpt2Tokenizer.Instance, TokenizerFactory.Load("gpt2"));
    }

    [DataFact("tinyshakespeare")]
    public void BpeLoadsFromItsDirectoryOrItsFile()
    {
        using var directory = new TempDirectory();
        SmallBpe.Tokenizer.Save(directory.Path);

        foreach (string spec in new[] { directory.Path, Path.Combine(directory.Path, "tokenizer.json") })
        {
            ITokenizer loaded = TokenizerFactory.Load(spec);
            Assert.Equal("bpe", loaded.Kind);
            Assert.Equal(SmallBpe.Tokenizer.Encode(SmallBpe.Corpus[..2000]), loaded.Encode(SmallBpe.Corpus[..2000]));
        }
    }

    [Fact]
    public void MissingFileIsAnErrorNamingIt()
    {
        using var directory = new TempDirectory();
        string expected = Path.Combine(directory.Path, "tokenizer.json");

        var error = Assert.Throws<InvalidInputException>(() => TokenizerFactory.Load(directory.Path));
        Assert.StartsWith($"{expected}: ", error.Message);
        string missing = Path.Combine(directory.Path, "nowhere", "tokenizer.json");
        Assert.Contains(missing, Assert.Throws<InvalidInputException>(() => TokenizerFactory.Load(missing)).Message);
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("")]
    [InlineData("[1, 2, 3]")]
    [InlineData("""{"type":"wordpiece"}""")]
    [InlineData("""{"type":"char","vocab":["ab"]}""")]
    [InlineData("""{"type":"char","vocab":["a","a"]}""")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false}}""")]
    [InlineData("""{"model":{"type":"BPE","vocab":[],"merges":[]},"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false}}""")]
    public void CorruptFileIsAnErrorNamingIt(string content)
    {
        using var directory = new TempDirectory();
        string path = Path.Combine(directory.Path, "tokenizer.json");
        File.WriteAllText(path, content);

        var error = Assert.Throws<InvalidInputException>(() => TokenizerFactory.Load(path));
        Assert.StartsWith($"{path}: ", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [DataFact("tinyshakespeare")]
    public void TruncatedFileIsAnErrorNamingIt()
    {
        using var directory = new TempDirectory();
        string path = Path.Combine(directory.Path, "tokenizer.json");
        SmallBpe.Tokenizer.Save(directory.Path);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        Assert.StartsWith($"{path}: ", Assert.Throws<InvalidInputException>(() => TokenizerFactory.Load(path)).Message);
    }
}
