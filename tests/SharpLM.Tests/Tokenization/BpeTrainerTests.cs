using SharpLM.Tokenization;

namespace SharpLM.Tests.Tokenization;

public class BpeTrainerTests
{
    [DataFact("tinyshakespeare")]
    public void TrainingTwiceWritesByteIdenticalFiles()
    {
        using var first = new TempDirectory();
        using var second = new TempDirectory();

        SmallBpe.Train(SmallBpe.Corpus).Save(first.Path);
        SmallBpe.Train(SmallBpe.Corpus).Save(second.Path);

        Assert.Equal(File.ReadAllBytes(Path.Combine(first.Path, "tokenizer.json")), File.ReadAllBytes(Path.Combine(second.Path, "tokenizer.json")));
    }

    [DataTheory("tinyshakespeare")]
    [InlineData(" the")]
    [InlineData(" and")]
    [InlineData(" my")]
    [InlineData(" you")]
    [InlineData("First")]
    [InlineData(" not")]
    [InlineData(" is")]
    public void FrequentWordsBecomeSingleTokens(string word)
    {
        Assert.Single(SmallBpe.Tokenizer.Encode(word));
    }

    [DataTheory("tinyshakespeare")]
    [InlineData(258)]
    [InlineData(600)]
    [InlineData(SmallBpe.VocabSize)]
    public void VocabSizeIsExactlyAsRequested(int vocabSize)
    {
        BpeTokenizer tokenizer = vocabSize == SmallBpe.VocabSize ? SmallBpe.Tokenizer : SmallBpe.Train(SmallBpe.Corpus, vocabSize);
        Assert.Equal(vocabSize, tokenizer.VocabSize);
        Assert.Equal(vocabSize - 1, tokenizer.EndOfTextId);
    }

    [Fact]
    public void PairsSeenFewerThanMinFrequencyAreNotMerged()
    {
        BpeTokenizer Train(int minFrequency)
        {
            var trainer = new BpeTrainer(new BpeTrainerOptions { VocabSize = 1000, MinFrequency = minFrequency });
            trainer.AddDocument("xy");
            return trainer.Train();
        }

        Assert.Equal(257, Train(minFrequency: 2).VocabSize);
        Assert.Equal(258, Train(minFrequency: 1).VocabSize);
    }

    [Fact]
    public void SpecialTokensInTheCorpusAreNotLearned()
    {
        var trainer = new BpeTrainer(new BpeTrainerOptions { VocabSize = 1000 });
        trainer.AddDocument(string.Concat(Enumerable.Repeat("a<|endoftext|>b<|endoftext|>", 100)));

        BpeTokenizer tokenizer = trainer.Train();

        Assert.Empty(tokenizer.Merges);
        Assert.Equal([tokenizer.EndOfTextId!.Value], tokenizer.Encode("<|endoftext|>"));
    }

    [DataFact("tinyshakespeare")]
    public void StreamingInSmallReadsCountsLikeTheWholeText()
    {
        string text = SmallBpe.Corpus[..20_000] + "  \r\n\r\n x'\nll 'll\n\n\n<|endoftext|>\n<|endoftext|>a";
        var whole = new BpeTrainer(new BpeTrainerOptions { VocabSize = 500 });
        whole.AddDocument(text);
        var streamed = new BpeTrainer(new BpeTrainerOptions { VocabSize = 500 });
        streamed.AddText(new TricklingReader(text, charsPerRead: 7));

        Assert.Equal(whole.Train().Merges, streamed.Train().Merges);
    }

    [Fact]
    public void RejectsImpossibleOptions()
    {
        Assert.Throws<ArgumentException>(() => new BpeTrainer(new BpeTrainerOptions { VocabSize = 256 }));
        Assert.Throws<ArgumentException>(() => new BpeTrainer(new BpeTrainerOptions { SpecialTokens = ["<a>\n"] }));
        Assert.Throws<ArgumentException>(() => new BpeTrainer(new BpeTrainerOptions { SpecialTokens = ["<a>", "<a>"] }));
    }

    /// <summary>Hands out a few characters per read, so the trainer must cut and carry over many times.</summary>
    sealed class TricklingReader(string text, int charsPerRead) : TextReader
    {
        readonly StringReader inner = new(text);

        public override int Read(char[] buffer, int index, int count) => inner.Read(buffer, index, Math.Min(count, charsPerRead));
    }
}
