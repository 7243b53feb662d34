using System.Text;

namespace SharpLM.Evaluation.Metrics;

/// <summary>What a choice's log-likelihood is divided by before choices are compared.</summary>
public enum ChoiceLength
{
    /// <summary>lm-evaluation-harness's <c>acc_norm</c>: <c>len(choice)</c>, Unicode code points.</summary>
    Characters,
    /// <summary>lm-evaluation-harness's <c>acc_bytes</c>: <c>len(choice.encode("utf-8"))</c>.</summary>
    Utf8Bytes,
}

/// <summary>
/// Multiple-choice scoring of one question as lm-evaluation-harness does it (<c>ConfigurableTask.process_results</c>
/// for <c>multiple_choice</c>), from each choice's total log-likelihood as a continuation of the question: the
/// prediction is the argmax (the first on ties, as <c>np.argmax</c>), for <c>acc_norm</c> of the log-likelihoods
/// divided by each choice's length. A task's accuracy is the mean of the per-question 0/1 values, so its standard
/// error is <see cref="SampleStatistics.MeanWithStderr"/>. The choices are the task's answer strings without the
/// delimiter (usually a space) put before them when scoring, since that is what lm-eval measures.
/// Expected calibration error, a corpus metric, is here too.
/// </summary>
public static class ChoiceMetrics
{
    /// <summary>The choice with the highest log-likelihood.</summary>
    public static int Prediction(IReadOnlyList<double> logLikelihoods)
    {
        ArgumentNullException.ThrowIfNull(logLikelihoods);
        if (logLikelihoods.Count == 0) throw new ArgumentException("a question needs at least one choice");
        int best = 0;
        for (int i = 1; i < logLikelihoods.Count; i++)
            if (logLikelihoods[i] > logLikelihoods[best]) best = i;
        return best;
    }

    /// <summary>The choice with the highest log-likelihood per unit of length, so that a right answer does not lose
    /// for being longer.</summary>
    public static int NormalizedPrediction(IReadOnlyList<double> logLikelihoods, IReadOnlyList<string> choices,
        ChoiceLength length = ChoiceLength.Characters)
    {
        ArgumentNullException.ThrowIfNull(logLikelihoods);
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.Count != logLikelihoods.Count)
            throw new ArgumentException($"{logLikelihoods.Count} log-likelihoods for {choices.Count} choices");
        var normalized = new double[choices.Count];
        for (int i = 0; i < normalized.Length; i++)
        {
            int units = length == ChoiceLength.Characters
                ? choices[i].EnumerateRunes().Count()
                : Encoding.UTF8.GetByteCount(choices[i]);
            if (units == 0) throw new ArgumentException($"choice {i} is empty, so it has no length to normalise by");
            normalized[i] = logLikelihoods[i] / units;
        }
        return Prediction(normalized);
    }

    /// <summary><c>acc</c> of one question: 1 when the most likely choice is the gold one, else 0.</summary>
    public static double Accuracy(IReadOnlyList<double> logLikelihoods, int gold) =>
        Prediction(logLikelihoods) == CheckGold(gold, logLikelihoods.Count) ? 1 : 0;

    /// <summary><c>acc_norm</c> (by characters, the default) or <c>acc_bytes</c> of one question.</summary>
    public static double NormalizedAccuracy(IReadOnlyList<double> logLikelihoods, IReadOnlyList<string> choices,
        int gold, ChoiceLength length = ChoiceLength.Characters) =>
        NormalizedPrediction(logLikelihoods, choices, length) == CheckGold(gold, choices.Count) ? 1 : 0;

    /// <summary>The model's distribution over the choices: a softmax of the log-likelihoods, computed after
    /// subtracting the largest so that very negative log-likelihoods do not underflow to 0/0.</summary>
    public static double[] Probabilities(IReadOnlyList<double> logLikelihoods)
    {
        double max = logLikelihoods[Prediction(logLikelihoods)];
        double[] p = logLikelihoods.Select(ll => Math.Exp(ll - max)).ToArray();
        double sum = p.Sum();
        for (int i = 0; i < p.Length; i++) p[i] /= sum;
        return p;
    }

    /// <summary>
    /// Expected calibration error (Guo et al. 2017, "On Calibration of Modern Neural Networks") over questions: the
    /// confidence of an answer is the probability of the predicted choice; answers fall into equal-width confidence
    /// bins (lower edge exclusive, upper inclusive) and ECE = Σ (|bin| / N) · |accuracy(bin) − mean confidence(bin)|.
    /// 0 is perfectly calibrated.
    /// </summary>
    /// <param name="logLikelihoods">Per question, each choice's log-likelihood.</param>
    /// <param name="golds">Per question, the index of the right choice.</param>
    /// <param name="bins">Equal-width confidence bins over [0, 1]; at least 1.</param>
    public static double ExpectedCalibrationError(IReadOnlyList<IReadOnlyList<double>> logLikelihoods,
        IReadOnlyList<int> golds, int bins = 10)
    {
        ArgumentNullException.ThrowIfNull(logLikelihoods);
        ArgumentNullException.ThrowIfNull(golds);
        if (logLikelihoods.Count == 0) throw new ArgumentException("ECE needs at least one question");
        if (golds.Count != logLikelihoods.Count)
            throw new ArgumentException($"{golds.Count} gold answers for {logLikelihoods.Count} questions");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bins);
        var correct = new double[bins];
        var confidence = new double[bins];
        for (int q = 0; q < logLikelihoods.Count; q++)
        {
            int predicted = Prediction(logLikelihoods[q]);
            double p = Probabilities(logLikelihoods[q])[predicted];
            // The first bin whose upper edge b/bins holds p, comparing with the edge itself so that a confidence of
            // exactly 0.3 lands in (0.2, 0.3] rather than wherever 0.3 * 10 happens to round.
            int bin = 0;
            while (bin < bins - 1 && p > (bin + 1) / (double)bins) bin++;
            confidence[bin] += p;
            if (predicted == CheckGold(golds[q], logLikelihoods[q].Count)) correct[bin]++;
        }
        // (|bin| / N) · |correct/|bin| − confidence/|bin|| = |correct − confidence| / N; empty bins add nothing.
        double ece = 0;
        for (int b = 0; b < bins; b++) ece += Math.Abs(correct[b] - confidence[b]) / logLikelihoods.Count;
        return ece;
    }

    private static int CheckGold(int gold, int choices) =>
        gold >= 0 && gold < choices
            ? gold
            : throw new ArgumentOutOfRangeException(nameof(gold), gold, $"gold must index one of {choices} choices");
}
