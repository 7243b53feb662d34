using SharpLM.Modeling.NGram;

namespace SharpLM.Tests.Modeling.NGram;

/// <summary>
/// Plain Kneser-Ney against NLTK 3.8's <c>KneserNeyInterpolated</c>. The first model is the one in NLTK's
/// <c>nltk/test/unit/lm/test_models.py</c>; every other expected value was printed by NLTK 3.8 (Debian's
/// python3-nltk) for the same data and hard-coded here, since CI has no NLTK.
/// </summary>
public class NltkReferenceTests
{
    /// <summary>
    /// NLTK's fixture: vocabulary a b c d z &lt;s&gt; &lt;/s&gt; (e and g become &lt;unk&gt;), the sentences "abcd" and
    /// "egadbe" padded by <c>padded_everygrams(3, …)</c>, a trigram model with discount 0.75.
    /// </summary>
    static KneserNeyModel NltkUnitTestModel()
    {
        var vocabulary = NGramVocabulary.FromTokens(["a", "b", "c", "d", "z", "<s>", "</s>"]);
        var counts = new NGramCounts(vocabulary, 3, NGramTokenization.Characters, SentencePadding.Nltk);
        counts.AddLine("abcd");
        counts.AddLine("egadbe");
        return KneserNeyModel.Plain(counts, discount: 0.75);
    }

    public static TheoryData<string, string, double> NltkUnitTestScores => new()
    {
        // NLTK's own test cases, with its derivations.
        { "c", "", 1.0 / 14 },                                  // unique('*c') / unique('**')
        { "z", "", 0.0 },                                       // in the vocabulary, never seen
        { "y", "", 3.0 / 14 },                                  // out of vocabulary: P(<unk>)
        { "c", "b", 0.125 + 0.75 * (1.0 / 14) },                // alpha('bc') + gamma('b') P(c)
        { "c", "a b", 0.25 + 0.75 * (0.125 + 0.75 * (1.0 / 14)) },
        { "c", "z b", 0.125 + 0.75 * (1.0 / 14) },              // unseen context 'zb' defers to P(c | b) (NLTK #2332)
        // Further scores of the same model, printed by NLTK.
        { "<s>", "", 0.07142857142857142 },
        { "</s>", "", 0.21428571428571427 },
        { "a", "<s> <s>", 0.3392857142857143 },
        { "a", "<s>", 0.2857142857142857 },
        { "b", "a", 0.23214285714285715 },
        { "d", "a", 0.23214285714285715 },
        { "</s>", "c d", 0.4642857142857143 },
        { "y", "d b", 0.4642857142857143 },
        { "<unk>", "<unk>", 0.244047619047619 },
        { "a", "<unk> <unk>", 0.39285714285714285 },
    };

    [Theory]
    [MemberData(nameof(NltkUnitTestScores))]
    public void Plain_kneser_ney_reproduces_nltks_unit_test_model(string word, string context, double expected)
    {
        var model = NltkUnitTestModel();
        Assert.Equal(expected, model.Probability(Split(context), word), 1e-9);
    }

    [Theory]
    [InlineData("", 1.0)]
    [InlineData("b", 1.0)]
    [InlineData("a b", 1.0)]
    [InlineData("d", 1.0)]
    [InlineData("<unk>", 1.0)]
    [InlineData("d b", 1.0)]
    [InlineData("z", 1.0)]
    // NLTK's weight counts raw followers of <s> (including <s> itself, whose bigram (<s>, <s>) has no left
    // neighbour and so no continuation count): its sentence-start distributions sum to more than 1.
    [InlineData("<s>", 1.375)]
    [InlineData("<s> <s>", 1.28125)]
    public void Plain_kneser_ney_sums_over_the_vocabulary_exactly_as_nltk_does(string context, double expected)
    {
        var model = NltkUnitTestModel();
        Assert.Equal(expected, model.Vocabulary.Tokens.Sum(w => model.Probability(Split(context), w)), 1e-9);
    }

    /// <summary>
    /// The same sentences through <c>padded_everygram_pipeline(3, …)</c>, whose vocabulary is the padded text itself:
    /// e and g are words now, and nothing is mapped to &lt;unk&gt;, so it has probability 0.
    /// </summary>
    [Theory]
    [InlineData("c", "", 1.0 / 14)]
    [InlineData("c", "b", 0.125 + 0.75 * (1.0 / 14))]
    [InlineData("c", "a b", 0.25 + 0.75 * (0.125 + 0.75 * (1.0 / 14)))]
    [InlineData("e", "", 0.14285714285714285)]
    [InlineData("y", "", 0.0)]
    [InlineData("g", "<s> e", 0.3839285714285714)]
    [InlineData("e", "d b", 0.42410714285714285)]
    [InlineData("</s>", "b e", 0.4642857142857143)]
    [InlineData("a", "g", 0.35714285714285715)]
    public void Padded_everygram_pipeline_model_matches_nltk(string word, string context, double expected)
    {
        var counts = NGramCounts.FromLines(["abcd", "egadbe"], 3, NGramTokenization.Characters, padding: SentencePadding.Nltk);
        Assert.Equal(9, counts.Vocabulary.Count); // NLTK's len(vocab): a b c d e g <s> </s> <UNK>
        Assert.Equal(expected, KneserNeyModel.Plain(counts, 0.75).Probability(Split(context), word), 1e-9);
    }

    static readonly string[] WordCorpus = ["the cat sat on the mat", "the dog sat on the log", "a cat saw the dog"];

    /// <summary>Word-level models with NLTK's <c>Vocabulary(unk_cutoff=2)</c>: mat, log, a and saw become &lt;unk&gt;.</summary>
    public static TheoryData<int, double, string, string, double> NltkWordScores => new()
    {
        { 2, 0.1, "cat", "the", 0.18857142857142856 },
        { 2, 0.1, "mat", "the", 0.39285714285714285 },
        { 2, 0.1, "sat", "the cat", 0.4642857142857143 },
        { 2, 0.1, "the", "<s>", 0.6476190476190475 },
        { 2, 0.1, "zebra", "on the", 0.39285714285714285 },
        { 2, 0.1, "dog", "saw the", 0.3842857142857143 },
        { 2, 0.1, "the", "", 0.21428571428571427 },
        { 2, 0.1, "</s>", "the dog", 0.4642857142857143 },
        { 3, 0.75, "cat", "the", 0.1328125 },
        { 3, 0.75, "mat", "the", 0.16796875 },
        { 3, 0.75, "sat", "the cat", 0.4140625 },
        { 3, 0.75, "the", "<s>", 0.3359375 },
        { 3, 0.75, "zebra", "on the", 0.68798828125 },
        { 3, 0.75, "dog", "saw the", 0.5107421875 },
        { 3, 0.75, "the", "", 0.1875 },
        { 3, 0.75, "</s>", "the dog", 0.32421875 },
        { 3, 0.75, "sat", "<s> the cat", 0.4140625 },
        { 4, 0.5, "cat", "the", 0.171875 },
        { 4, 0.5, "mat", "the", 0.1953125 },
        { 4, 0.5, "sat", "the cat", 0.65625 },
        { 4, 0.5, "the", "<s>", 0.26041666666666663 },
        { 4, 0.5, "zebra", "on the", 0.59765625 },
        { 4, 0.5, "dog", "saw the", 0.69921875 },
        { 4, 0.5, "the", "", 0.1875 },
        { 4, 0.5, "</s>", "the dog", 0.421875 },
        { 4, 0.5, "sat", "<s> the cat", 0.828125 },
    };

    [Theory]
    [MemberData(nameof(NltkWordScores))]
    public void Word_level_scores_match_nltk(int order, double discount, string word, string context, double expected)
    {
        var counts = NGramCounts.FromLines(WordCorpus, order, NGramTokenization.Words, minCount: 2, SentencePadding.Nltk);
        var model = KneserNeyModel.Plain(counts, discount);
        Assert.Equal(expected, model.Probability(Split(context), word), 1e-9);
    }

    [Theory]
    [InlineData(2, 0.1, 6.949373344202216, 9)]
    [InlineData(3, 0.75, 3.5108850490403016, 10)]
    [InlineData(4, 0.5, 3.5998439801697684, 11)]
    public void Sentence_perplexity_matches_nltk(int order, double discount, double expected, int predictedTokens)
    {
        // NLTK: model.perplexity(ngrams(pad_both_ends(sentence, n), n)), which predicts the words and n−1 end markers.
        var counts = NGramCounts.FromLines(WordCorpus, order, NGramTokenization.Words, minCount: 2, SentencePadding.Nltk);
        var evaluation = KneserNeyModel.Plain(counts, discount).Evaluate("the dog saw a cat on the mat");
        Assert.Equal(predictedTokens, evaluation.Tokens);
        Assert.Equal(expected, evaluation.Perplexity, 1e-9);
    }

    static string[] Split(string context) => context.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
