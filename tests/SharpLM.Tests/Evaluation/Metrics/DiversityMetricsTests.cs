using SharpLM.Evaluation.Metrics;

namespace SharpLM.Tests.Evaluation.Metrics;

public class DiversityMetricsTests
{
    [Fact]
    public void Distinct_n_is_unique_over_total_n_grams_pooled_over_generations()
    {
        string[] generations = ["a b a b", "a c"];
        // unigrams a b a b a c: {a, b, c} of 6
        Assert.Equal(3.0 / 6, DiversityMetrics.DistinctN(generations, 1), 12);
        // bigrams "a b" "b a" "a b" "a c": 3 distinct of 4
        Assert.Equal(3.0 / 4, DiversityMetrics.DistinctN(generations, 2), 12);
    }

    [Fact]
    public void Distinct_n_grams_never_span_two_generations_and_none_at_all_scores_zero()
    {
        Assert.Equal(0, DiversityMetrics.DistinctN(["a", "b"], 2));
        Assert.Equal(0, DiversityMetrics.DistinctN([], 1));
        Assert.Equal(1, DiversityMetrics.DistinctN(["a b", "c d"], 2));
    }

    [Fact]
    public void Distinct_n_tokenizes_with_the_given_bleu_tokenizer()
    {
        string[] generations = ["yes.", "yes ."];
        Assert.Equal(1.0, DiversityMetrics.DistinctN(generations, 1)); // "yes." "yes" "."
        Assert.Equal(0.5, DiversityMetrics.DistinctN(generations, 1, BleuTokenizer.Mteval13a)); // yes . yes .
    }

    [Fact]
    public void Self_bleu_of_copies_is_100_and_of_disjoint_generations_0()
    {
        Assert.Equal(100, DiversityMetrics.SelfBleu(["the cat sat on the mat", "the cat sat on the mat", "the cat sat on the mat"]), 9);
        Assert.Equal(0, DiversityMetrics.SelfBleu(["a b c d", "e f g h"]));
        // two copies match each other perfectly, the odd one out matches nothing: (100 + 100 + 0) / 3
        Assert.Equal(200.0 / 3, DiversityMetrics.SelfBleu(["a b c d", "a b c d", "e f g h"]), 9);
    }

    [Fact]
    public void Self_bleu_averages_sentence_bleu_against_all_other_generations()
    {
        string[] generations =
        [
            "The cat sat on the mat.", "A cat was sitting on a mat.", "The dog sat on the log.", "Cats like mats, dogs like logs.",
        ];
        double expected = generations.Select((g, i) =>
            Bleu.Sentence(g, [.. generations.Where((_, j) => j != i)]).Score).Average();
        Assert.Equal(expected, DiversityMetrics.SelfBleu(generations), 12);

        var options = new BleuOptions { Smoothing = BleuSmoothing.Floor, EffectiveOrder = true, Lowercase = true };
        double expectedFloor = generations.Select((g, i) =>
            Bleu.Sentence(g, [.. generations.Where((_, j) => j != i)], options).Score).Average();
        Assert.Equal(expectedFloor, DiversityMetrics.SelfBleu(generations, options), 12);
    }

    [Fact]
    public void Self_bleu_needs_two_generations()
    {
        Assert.Throws<ArgumentException>(() => DiversityMetrics.SelfBleu(["alone"]));
    }
}
