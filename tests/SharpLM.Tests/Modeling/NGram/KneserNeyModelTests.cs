using SharpLM.Modeling.NGram;

namespace SharpLM.Tests.Modeling.NGram;

public class KneserNeyModelTests
{
    static NGramCounts Counts(int order, NGramTokenization tokenization, int minCount = 1, SentencePadding padding = SentencePadding.KenLm) =>
        NGramCounts.FromLines(NGramTestCorpus.Training, order, tokenization, minCount, padding);

    static void AssertSumsToOne(NGramLanguageModel model, IEnumerable<string[]> contexts)
    {
        foreach (string[] context in contexts)
        {
            double sum = model.Vocabulary.Tokens.Sum(w => model.Probability(context, w));
            Assert.True(Math.Abs(sum - 1) < 1e-9, $"Σ P(w | {string.Join(' ', context)}) = {sum:R}");
        }
    }

    [Theory]
    [InlineData(NGramTokenization.Words, 3, 1, SentencePadding.KenLm)]
    [InlineData(NGramTokenization.Words, 4, 2, SentencePadding.KenLm)]
    [InlineData(NGramTokenization.Words, 3, 2, SentencePadding.Nltk)]
    [InlineData(NGramTokenization.Characters, 5, 1, SentencePadding.KenLm)]
    [InlineData(NGramTokenization.Characters, 3, 1, SentencePadding.Nltk)]
    [InlineData(NGramTokenization.Characters, 1, 1, SentencePadding.KenLm)]
    public void Modified_kneser_ney_sums_to_one_over_the_vocabulary(NGramTokenization tokenization, int order, int minCount, SentencePadding padding)
    {
        var counts = Counts(order, tokenization, minCount, padding);
        AssertSumsToOne(KneserNeyModel.Modified(counts), NGramTestCorpus.Contexts(counts));
    }

    [Theory]
    [InlineData(NGramTokenization.Words, 3, 1, 0.75)]
    [InlineData(NGramTokenization.Words, 2, 2, 0.1)]
    [InlineData(NGramTokenization.Characters, 4, 1, 1.0)]
    public void Plain_kneser_ney_sums_to_one_under_kenlm_padding(NGramTokenization tokenization, int order, int minCount, double discount)
    {
        // Under NLTK padding its sentence-start contexts do not (see NltkReferenceTests); every other context does.
        var counts = Counts(order, tokenization, minCount);
        AssertSumsToOne(KneserNeyModel.Plain(counts, discount), NGramTestCorpus.Contexts(counts));
    }

    [Theory]
    [InlineData(NGramTokenization.Words, 3, 1)]
    [InlineData(NGramTokenization.Words, 2, 2)]
    [InlineData(NGramTokenization.Characters, 4, 1)]
    public void Modified_kneser_ney_equals_a_direct_transcription_of_chen_and_goodman(NGramTokenization tokenization, int order, int minCount)
    {
        var counts = Counts(order, tokenization, minCount);
        var model = KneserNeyModel.Modified(counts);
        var naive = new NaiveModifiedKneserNey(
            NGramTestCorpus.Training.Select(l => NGramTokenizer.Tokenize(l, tokenization)), counts.Vocabulary, order);
        foreach (string[] context in NGramTestCorpus.Contexts(counts))
            foreach (string word in counts.Vocabulary.Tokens.Append("never-seen"))
                Assert.Equal(naive.Probability(context, word), model.Probability(context, word), 1e-12);
        // The character model has enough data for real discount estimates at low orders, not only the fallback.
        if (tokenization == NGramTokenization.Characters) Assert.Contains(model.Discounts, d => !d.IsFallback);
    }

    [Fact]
    public void Discounts_follow_chen_and_goodmans_equation_26()
    {
        // n1..n4 = 10, 4, 2, 1: Y = 10 / 18 = 5/9.
        var d = KneserNeyDiscounts.Estimate([0, 10, 4, 2, 1]);
        Assert.Equal(1 - 2 * (5.0 / 9) * 4 / 10, d.D1, 1e-12);
        Assert.Equal(2 - 3 * (5.0 / 9) * 2 / 4, d.D2, 1e-12);
        Assert.Equal(3 - 4 * (5.0 / 9) * 1 / 2, d.D3Plus, 1e-12);
        Assert.False(d.IsFallback);
        // No n-gram seen exactly twice: D2 is undefined, so KenLM's fallback applies to the whole order.
        Assert.Same(KneserNeyDiscounts.Fallback, KneserNeyDiscounts.Estimate([0, 10, 0, 2, 1]));
    }

    [Fact]
    public void Held_out_perplexity_is_finite_when_unseen_words_map_to_unk()
    {
        // Modified KN gives every vocabulary word, <unk> included, a share of the uniform base distribution.
        string heldOut = string.Join('\n', NGramTestCorpus.HeldOut);
        var modified = KneserNeyModel.Modified(Counts(3, NGramTokenization.Words));
        Assert.True(double.IsFinite(modified.Perplexity(heldOut)) && modified.Perplexity(heldOut) > 1);
        // Plain KN (NLTK) gives <unk> mass only when training tokens were mapped to it …
        var plainWithUnk = KneserNeyModel.Plain(Counts(3, NGramTokenization.Words, minCount: 2), 0.75);
        Assert.True(double.IsFinite(plainWithUnk.Perplexity(heldOut)));
        // … and like NLTK assigns probability 0, so infinite perplexity, to a word it never saw.
        var plainWithoutUnk = KneserNeyModel.Plain(Counts(3, NGramTokenization.Words), 0.75);
        Assert.Equal(0, plainWithoutUnk.Probability(["the"], "zebra"));
        Assert.True(double.IsPositiveInfinity(plainWithoutUnk.Perplexity(heldOut)));
    }

    [Fact]
    public void Bits_per_character_scores_each_newline_as_the_end_marker()
    {
        var model = KneserNeyModel.Modified(Counts(4, NGramTokenization.Characters));
        string text = "the cat ran\nthe dög sat\n";
        var evaluation = model.Evaluate(text);
        Assert.Equal(text.Length, evaluation.Characters);    // 24 characters, both newlines included
        Assert.Equal(evaluation.Characters, evaluation.Tokens); // one </s> per newline under KenLM padding
        Assert.Equal(-evaluation.LogLikelihood / Math.Log(2) / text.Length, model.BitsPerCharacter(text), 1e-12);
        double bySentence = model.SentenceLogProb(NGramTokenizer.Tokenize("the cat ran", NGramTokenization.Characters))
                          + model.SentenceLogProb(NGramTokenizer.Tokenize("the dög sat", NGramTokenization.Characters));
        Assert.Equal(bySentence, evaluation.LogLikelihood, 1e-12);
        Assert.Equal(Math.Log(model.Probability(["<s>"], "t")), model.LogProb(["<s>"], "t"), 1e-15);
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("text.txt"), text);
        Assert.Equal(evaluation, model.EvaluateFile(dir.File("text.txt")));
    }

    [Fact]
    public void A_model_freezes_its_counts_and_checks_its_discount()
    {
        var counts = Counts(2, NGramTokenization.Words);
        Assert.Throws<ArgumentOutOfRangeException>(() => KneserNeyModel.Plain(counts, 1.5));
        KneserNeyModel.Modified(counts);
        Assert.Throws<InvalidOperationException>(() => counts.AddLine("one more line"));
    }

    [DataFact("tinyshakespeare")]
    public void Character_level_models_of_tinyshakespeare_beat_a_uniform_guess()
    {
        using var dir = new TempDirectory();
        string text = File.ReadAllText(TestData.Path("tinyshakespeare/input.txt"));
        File.WriteAllText(dir.File("train.txt"), text[..100_000]);
        var counts = NGramCounts.FromFile(dir.File("train.txt"), 3, NGramTokenization.Characters);
        double bpc = KneserNeyModel.Modified(counts).BitsPerCharacter(text[100_000..110_000]);
        Assert.InRange(bpc, 1.5, Math.Log2(counts.Vocabulary.Count - 1) - 2);
    }
}
