using SharpLM.Modeling.NGram;

namespace SharpLM.Tests.Modeling.NGram;

public class NGramCountsTests
{
    [Fact]
    public void Kenlm_padding_adds_one_marker_each_side_and_never_counts_the_start()
    {
        var counts = new NGramCounts(NGramVocabulary.FromTokens(["a", "b"]), 3);
        counts.AddLine("a b");
        Assert.Equal(0, counts.Count(["<s>"]));
        Assert.Equal(1, counts.Count(["<s>", "a"]));
        Assert.Equal(1, counts.Count(["a", "b", "</s>"]));
        Assert.Equal(0, counts.Count(["<s>", "<s>"]));
        Assert.Equal(3, counts.Types(1)); // a, b, </s>
    }

    [Fact]
    public void Nltk_padding_adds_order_minus_one_markers_and_counts_every_everygram()
    {
        var counts = new NGramCounts(NGramVocabulary.FromTokens(["a", "b"]), 3, padding: SentencePadding.Nltk);
        counts.AddLine("a b");
        Assert.Equal(2, counts.Count(["<s>"]));
        Assert.Equal(1, counts.Count(["<s>", "<s>"]));
        Assert.Equal(1, counts.Count(["<s>", "<s>", "a"]));
        Assert.Equal(1, counts.Count(["b", "</s>", "</s>"]));
        Assert.Equal(2, counts.Count(["</s>"]));
    }

    [Fact]
    public void Tokens_seen_fewer_than_min_count_times_become_unk()
    {
        var counts = NGramCounts.FromLines(["x y y", "y z"], 2, NGramTokenization.Words, minCount: 2);
        Assert.True(counts.Vocabulary.Contains("y"));
        Assert.False(counts.Vocabulary.Contains("x"));
        Assert.Equal(2, counts.Count(["<unk>"]));
        Assert.Equal(1, counts.Count(["<s>", "<unk>"]));
        Assert.Equal(1, counts.Count(["q", "y"])); // q is read as <unk>
    }

    [Fact]
    public void Characters_are_tokens_and_whitespace_gets_a_visible_token()
    {
        Assert.Equal(["a", NGramTokenizer.Space, "b", "<0x09>", "é"], NGramTokenizer.Tokenize("a b\té", NGramTokenization.Characters));
        Assert.Equal(["a", "b", "é"], NGramTokenizer.Tokenize(" a  b\té ", NGramTokenization.Words));
        var counts = NGramCounts.FromLines(["ab ab"], 2, NGramTokenization.Characters);
        Assert.Equal(2, counts.Count(["a", "b"]));
        Assert.Equal(1, counts.Count(["b", NGramTokenizer.Space]));
    }

    [Fact]
    public void Counting_a_file_streams_it_and_matches_counting_the_same_lines_in_memory()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("corpus.txt"), NGramTestCorpus.Training);
        var fromFile = NGramCounts.FromFile(dir.File("corpus.txt"), 3, NGramTokenization.Words, minCount: 2);
        var inMemory = NGramCounts.FromLines(NGramTestCorpus.Training, 3, NGramTokenization.Words, minCount: 2);
        Assert.Equal(inMemory.Vocabulary.Tokens, fromFile.Vocabulary.Tokens);
        for (int k = 1; k <= 3; k++) Assert.Equal(inMemory.Types(k), fromFile.Types(k));
        Assert.Equal(5, fromFile.Count(["the", "cat"]));
        Assert.Equal(inMemory.Count(["<unk>"]), fromFile.Count(["<unk>"]));
        Assert.Throws<InvalidInputException>(() => NGramCounts.FromFile(dir.File("missing.txt"), 3, NGramTokenization.Words));
    }
}
