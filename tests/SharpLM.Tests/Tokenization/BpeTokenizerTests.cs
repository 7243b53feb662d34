using System.Text;
using SharpLM.Tokenization;

namespace SharpLM.Tests.Tokenization;

public class BpeTokenizerTests
{
    [DataFact("tinyshakespeare")]
    public void DecodeOfEncodeIsIdentityOnRandomUnicode()
    {
        BpeTokenizer tokenizer = SmallBpe.Tokenizer;
        foreach (string text in RandomText.Strings(seed: 1, count: 400))
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [DataFact("tinyshakespeare")]
    public void DecodeOfEncodeIsIdentityOnTrainingText()
    {
        BpeTokenizer tokenizer = SmallBpe.Tokenizer;
        Assert.Equal(SmallBpe.Corpus, tokenizer.Decode(tokenizer.Encode(SmallBpe.Corpus)));
    }

    [DataFact("tinyshakespeare")]
    public void EndOfTextInTextBecomesItsSingleId()
    {
        BpeTokenizer tokenizer = SmallBpe.Tokenizer;
        Assert.Equal(SmallBpe.VocabSize - 1, tokenizer.EndOfTextId);

        int[] ids = tokenizer.Encode("to be<|endoftext|>or not");

        Assert.Single(ids, id => id == tokenizer.EndOfTextId);
        Assert.Equal(tokenizer.Encode("to be"), ids[..Array.IndexOf(ids, tokenizer.EndOfTextId!.Value)]);
    }

    [DataFact("tinyshakespeare")]
    public void EveryByteHasAToken()
    {
        BpeTokenizer tokenizer = SmallBpe.Tokenizer;
        // Unseen in training, yet encodable: each of its UTF-8 bytes is a base token.
        string rare = "\u0007𓀀";
        int[] ids = tokenizer.Encode(rare);
        Assert.Equal(rare, tokenizer.Decode(ids));
        Assert.All(ids, id => Assert.InRange(id, 0, 255));
    }

    [DataFact("tinyshakespeare")]
    public void EncodingIsTheSameFromSeveralThreads()
    {
        var tokenizer = new BpeTokenizer(SmallBpe.Tokenizer.Vocab, SmallBpe.Tokenizer.Merges, SmallBpe.Tokenizer.SpecialTokens);
        string[] texts = RandomText.Strings(seed: 2, count: 200).ToArray();
        int[][] expected = texts.Select(SmallBpe.Tokenizer.Encode).ToArray();

        Parallel.For(0, 4 * texts.Length, i => Assert.Equal(expected[i % texts.Length], tokenizer.Encode(texts[i % texts.Length])));
    }

    [DataFact("tinyshakespeare")]
    public void DecodingAnIdOutsideTheVocabThrows()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SmallBpe.Tokenizer.Decode([0, SmallBpe.VocabSize]));
    }

    [DataFact("tinyshakespeare")]
    public void SlicedMultiByteCharacterDecodesAsReplacement()
    {
        // 0xC3 is the first byte of 'é'; alone it is not UTF-8. A slice of ids may end there; decoding must not throw.
        Assert.True(SmallBpe.Tokenizer.TryGetId(ByteLevelAlphabet.ToChar(0xC3).ToString(), out int firstByteOfE));
        Assert.Equal("a\uFFFD", SmallBpe.Tokenizer.Decode([.. SmallBpe.Tokenizer.Encode("a"), firstByteOfE]));
    }

    [Fact]
    public void ConstructorRejectsAVocabWithoutAllBytes()
    {
        var vocab = ByteLevelAlphabet.Symbols.Skip(1).Select(c => c.ToString()).ToArray();
        var error = Assert.Throws<ArgumentException>(() => new BpeTokenizer(vocab, [], []));
        Assert.Contains("0x21", error.Message);
    }

    [Fact]
    public void ConstructorRejectsAMergeWhoseResultIsNotInTheVocab()
    {
        var vocab = ByteLevelAlphabet.Symbols.Select(c => c.ToString()).ToArray();
        Assert.Throws<ArgumentException>(() => new BpeTokenizer(vocab, [("a", "b")], []));
    }

    [Fact]
    public void Only_words_of_at_most_256_characters_enter_the_encode_cache()
    {
        // The cache is capped by entries; a megabyte-long word (one request's prompt) must not become one of them.
        var tokenizer = new BpeTokenizer(ByteLevelAlphabet.Symbols.Select(c => c.ToString()).ToArray(), [], []);
        string longest = " " + new string('x', 255), tooLong = " " + new string('y', 256);
        Assert.Equal(Encoding.UTF8.GetByteCount("hello" + longest + tooLong), tokenizer.Encode("hello" + longest + tooLong).Length);
        Assert.True(tokenizer.IsCached("hello"));
        Assert.True(tokenizer.IsCached(longest));
        Assert.False(tokenizer.IsCached(tooLong));
    }
}
