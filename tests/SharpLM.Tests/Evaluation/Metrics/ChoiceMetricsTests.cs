using SharpLM.Evaluation.Metrics;

namespace SharpLM.Tests.Evaluation.Metrics;

public class ChoiceMetricsTests
{
    [Fact]
    public void Acc_norm_divides_by_characters_so_a_long_right_answer_can_win()
    {
        // acc: −3 > −10 picks "Paris". acc_norm: −3/5 = −0.6 < −10/26 ≈ −0.385 picks the long answer.
        double[] lls = [-3.0, -10.0];
        string[] choices = ["Paris", "the capital city of France"];
        Assert.Equal(0, ChoiceMetrics.Prediction(lls));
        Assert.Equal(1, ChoiceMetrics.NormalizedPrediction(lls, choices));
        Assert.Equal(0.0, ChoiceMetrics.Accuracy(lls, gold: 1));
        Assert.Equal(1.0, ChoiceMetrics.NormalizedAccuracy(lls, choices, gold: 1));
    }

    [Fact]
    public void Acc_bytes_divides_by_utf8_bytes()
    {
        // "café" is 4 characters but 5 bytes. Characters: −1.1 vs −1.05; bytes: −0.88 vs −1.05.
        double[] lls = [-4.4, -4.2];
        string[] choices = ["caf\u00E9", "cafe"];
        Assert.Equal(1, ChoiceMetrics.NormalizedPrediction(lls, choices, ChoiceLength.Characters));
        Assert.Equal(0, ChoiceMetrics.NormalizedPrediction(lls, choices, ChoiceLength.Utf8Bytes));
        Assert.Equal(1.0, ChoiceMetrics.NormalizedAccuracy(lls, choices, gold: 0, ChoiceLength.Utf8Bytes));
    }

    [Fact]
    public void Characters_are_code_points_as_in_python() =>
        // "👋" is one character (two UTF-16 units): −1.5/1 < −2.5/2, so "ab" wins.
        Assert.Equal(1, ChoiceMetrics.NormalizedPrediction([-1.5, -2.5], ["\U0001F44B", "ab"]));

    [Fact]
    public void Ties_go_to_the_first_choice_as_numpy_argmax() =>
        Assert.Equal(0, ChoiceMetrics.Prediction([-1.0, -1.0, -2.0]));

    [Fact]
    public void Probabilities_are_a_stable_softmax()
    {
        double[] p = ChoiceMetrics.Probabilities([-1000.0, -1000.0 + Math.Log(3)]);
        Assert.Equal(0.25, p[0], 12);
        Assert.Equal(0.75, p[1], 12);
    }

    [Fact]
    public void Expected_calibration_error_weights_each_bin_gap_by_its_size()
    {
        // Confident and right, confident and wrong, right at 0.6, and right predicting choice 1 at 0.7.
        double[][] lls = [Binary(0.9), Binary(0.9), Binary(0.6), Binary(0.3)];
        int[] golds = [0, 1, 0, 1];
        // Ten bins: (0.8, 0.9] has accuracy 1/2 at confidence 0.9 → 2/4 · 0.4; 0.6 and 0.7 are right → 1/4 · 0.4 +
        // 1/4 · 0.3.
        Assert.Equal(0.375, ChoiceMetrics.ExpectedCalibrationError(lls, golds), 12);
        // Two bins: all four in (0.5, 1]: accuracy 3/4 against mean confidence 0.775.
        Assert.Equal(0.025, ChoiceMetrics.ExpectedCalibrationError(lls, golds, bins: 2), 12);
    }

    [Fact]
    public void A_coin_flip_that_is_right_half_the_time_is_calibrated() =>
        Assert.Equal(0.0, ChoiceMetrics.ExpectedCalibrationError([Binary(0.5), Binary(0.5)], [0, 1]), 12);

    [Fact]
    public void Rejects_malformed_questions()
    {
        Assert.Throws<ArgumentException>(() => ChoiceMetrics.NormalizedPrediction([-1.0], ["a", "b"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ChoiceMetrics.Accuracy([-1.0, -2.0], gold: 2));
        Assert.Throws<ArgumentException>(() => ChoiceMetrics.NormalizedPrediction([-1.0, -2.0], ["", "b"]));
        Assert.Throws<ArgumentException>(() => ChoiceMetrics.ExpectedCalibrationError([Binary(0.5)], [0, 1]));
    }

    /// <summary>Log-likelihoods of two choices whose probabilities are p and 1 − p.</summary>
    private static double[] Binary(double p) => [Math.Log(p), Math.Log(1 - p)];
}
