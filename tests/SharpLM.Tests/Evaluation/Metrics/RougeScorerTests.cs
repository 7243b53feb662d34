using SharpLM.Evaluation.Metrics;

namespace SharpLM.Tests.Evaluation.Metrics;

public class RougeScorerTests
{
    [Fact]
    public void Tokenizer_lowercases_and_splits_on_everything_outside_a_to_z_and_digits() =>
        Assert.Equal(["the", "quick", "brown", "fox", "s", "2nd", "jump"],
            new RougeTokenizer().Tokenize("The quick-brown fox's 2nd JUMP!"));

    [Fact]
    public void Stemmer_only_touches_tokens_longer_than_three_characters() =>
        // Porter alone would make "was" "wa".
        Assert.Equal(["was", "run", "dog"], new RougeTokenizer(useStemmer: true).Tokenize("Was running dogs"));

    [Fact]
    public void Capitals_outside_ascii_that_lowercase_to_ascii_become_letters_as_in_python() =>
        // Python's 'K' (KELVIN SIGN).lower() is 'k'.
        Assert.Equal(["king"], new RougeTokenizer().Tokenize("\u212Aing"));

    [Fact]
    public void Score_multi_keeps_the_best_target_for_each_type_separately()
    {
        var scorer = new RougeScorer(["rouge1", "rouge2"]);
        var best = scorer.ScoreMulti(["c b a", "a b x y"], "a b c");
        // rouge1: "c b a" has every unigram. rouge2: only "a b x y" shares a bigram (a b): P 1/2, R 1/3.
        Assert.Equal(new RougeScore(1, 1, 1), best["rouge1"]);
        Assert.Equal(0.5, best["rouge2"].Precision, 12);
        Assert.Equal(1.0 / 3, best["rouge2"].Recall, 12);
        Assert.Equal(0.4, best["rouge2"].FMeasure, 12);
    }

    [Fact]
    public void Score_multi_takes_the_first_of_equal_f_measures()
    {
        // Both targets give F = 2/3, the first with P 1/2 and R 1, the second with P 1 and R 1/2.
        var best = new RougeScorer(["rouge1"]).ScoreMulti(["x", "x y z w"], "x y");
        Assert.Equal(0.5, best["rouge1"].Precision, 12);
    }

    [Fact]
    public void A_custom_tokenizer_scores_text_the_default_one_drops()
    {
        var scorer = new RougeScorer(["rouge1"], tokenizer: s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var score = scorer.Score("我 爱 你", "我 爱")["rouge1"];
        Assert.Equal(1.0, score.Precision, 12);
        Assert.Equal(2.0 / 3, score.Recall, 12);
        Assert.Equal(RougeScore.Zero, new RougeScorer(["rouge1"]).Score("我 爱 你", "我 爱")["rouge1"]);
    }

    [Fact]
    public void Rouge_lsum_skips_empty_lines()
    {
        var scorer = new RougeScorer(["rougeLsum"]);
        Assert.Equal(scorer.Score("a b\nc d", "a b\nc d")["rougeLsum"],
            scorer.Score("a b\n\n\nc d\n", "\na b\nc d")["rougeLsum"]);
    }

    [Fact]
    public void Bootstrap_intervals_are_reproducible_and_centred_on_the_mean()
    {
        var scorer = new RougeScorer(["rouge1"]);
        var aggregator = new BootstrapAggregator(seed: 42);
        string[] targets = ["one two three", "four five six seven", "eight nine", "ten eleven twelve", "a b c d e"];
        string[] predictions = ["one two", "five six", "eight nine ten", "zero", "a c e"];
        for (int i = 0; i < targets.Length; i++) aggregator.AddScores(scorer.Score(targets[i], predictions[i]));

        AggregateScore first = aggregator.Aggregate()["rouge1"];
        Assert.Equal(first, aggregator.Aggregate()["rouge1"]);
        double meanF = targets.Select((t, i) => scorer.Score(t, predictions[i])["rouge1"].FMeasure).Average();
        Assert.Equal(meanF, first.Mid.FMeasure, 12);
        Assert.InRange(first.Mid.FMeasure, first.Low.FMeasure, first.High.FMeasure);
        Assert.True(first.Low.FMeasure < first.High.FMeasure);
    }

    [Fact]
    public void Percentiles_interpolate_linearly_like_numpy() =>
        // np.percentile([1, 2, 3, 4], 25) == 1.75
        Assert.Equal(1.75, BootstrapAggregator.Percentile([4, 1, 3, 2], 0.25), 12);
}
