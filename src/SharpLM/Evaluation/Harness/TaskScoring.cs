using SharpLM.Evaluation.Metrics;

namespace SharpLM.Evaluation.Harness;

/// <summary>
/// Per-document scores and their aggregation into a task's metrics. Mean-type metrics (accuracy, exact match, F1,
/// pass@k) report the standard error of the mean; corpus metrics (BLEU, chrF, ECE, perplexities) a bootstrap one.
/// </summary>
public static class TaskScoring
{
    static readonly RougeScorer RougeScorer = new(["rouge1", "rouge2", "rougeL", "rougeLsum"], useStemmer: true);

    /// <summary>Sets the sample's "acc" (the most likely choice is <paramref name="gold"/>) and "acc_norm" (the same
    /// with log-likelihoods normalised by choice length).</summary>
    public static void ScoreChoice(SampleRecord sample, IReadOnlyList<double> lls, IReadOnlyList<string> choices, int gold)
    {
        sample.Scores["acc"] = ChoiceMetrics.Accuracy(lls, gold);
        sample.Scores["acc_norm"] = ChoiceMetrics.NormalizedAccuracy(lls, choices, gold);
    }

    /// <summary>Sets the sample's per-document scores for the task's metrics: exact_match, f1 and the ROUGE variants
    /// (F-measure), each against the best of <paramref name="targets"/>; BLEU and chrF are corpus-level and left to
    /// <see cref="Aggregate"/>.</summary>
    public static void ScoreGeneration(TaskConfig task, SampleRecord sample, string extracted, IReadOnlyList<string> targets)
    {
        foreach (string metric in task.Metrics)
            switch (metric)
            {
                case "exact_match": sample.Scores[metric] = AnswerMetrics.ExactMatch(extracted, targets); break;
                case "f1": sample.Scores[metric] = AnswerMetrics.F1(extracted, targets); break;
                case "rouge":
                    foreach (var (name, score) in RougeScorer.ScoreMulti(targets, extracted)) sample.Scores[name] = score.FMeasure;
                    break;
            }
    }

    /// <summary>Sets the sample's "n" (programs generated for the problem), "correct" (how many passed) and the
    /// unbiased pass@k estimate for every k of the task up to <paramref name="n"/>.</summary>
    public static void ScoreCode(TaskConfig task, SampleRecord sample, int n, int correct)
    {
        sample.Scores["n"] = n;
        sample.Scores["correct"] = correct;
        foreach (int k in task.PassK.Where(k => k <= n)) sample.Scores[$"pass@{k}"] = PassAtK.Estimate(n, correct, k);
    }

    /// <summary>The task's metrics and standard errors over <paramref name="samples"/>, by output type, with what
    /// produced them (<paramref name="shots"/> is the few-shot count recorded).</summary>
    public static TaskResult Aggregate(TaskConfig task, string model, string dataHash, int shots, EvaluationOptions options, List<SampleRecord> samples)
    {
        var metrics = new SortedDictionary<string, double>(StringComparer.Ordinal);
        var stderr = new SortedDictionary<string, double>(StringComparer.Ordinal);
        void Mean(string name)
        {
            var values = samples.Select(s => s.Scores[name]).ToArray();
            var (mean, se) = SampleStatistics.MeanWithStderr(values);
            metrics[name] = mean;
            stderr[name] = se;
        }
        switch (task.OutputType)
        {
            case OutputType.MultipleChoice:
                Mean("acc");
                Mean("acc_norm");
                if (task.Metrics.Contains("ece"))
                {
                    double Ece(IReadOnlyList<int> idx) => ChoiceMetrics.ExpectedCalibrationError(idx.Select(i => samples[i].Loglikelihoods!).ToArray(), idx.Select(i => (int)samples[i].Target!).ToArray());
                    metrics["ece"] = Ece(Enumerable.Range(0, samples.Count).ToArray());
                    stderr["ece"] = SampleStatistics.BootstrapStderr(samples.Count, Ece, options.Seed);
                }
                break;
            case OutputType.GenerateUntil:
                foreach (string name in samples.SelectMany(s => s.Scores.Keys).Distinct()) Mean(name);
                var hyps = samples.Select(s => s.Extracted![0]).ToArray();
                var refs = samples.Select(s => s.Target is string t ? new[] { t } : ((IReadOnlyList<string>)s.Target!).ToArray()).ToArray();
                if (task.Metrics.Contains("bleu"))
                {
                    double Bleu(IReadOnlyList<int> idx) => Metrics.Bleu.Corpus(idx.Select(i => hyps[i]).ToArray(), ReferenceStreams(idx.Select(i => refs[i]).ToArray()), BleuOptions.CorpusDefault).Score;
                    metrics["bleu"] = Bleu(Enumerable.Range(0, samples.Count).ToArray());
                    stderr["bleu"] = SampleStatistics.BootstrapStderr(samples.Count, Bleu, options.Seed);
                }
                if (task.Metrics.Contains("chrf"))
                {
                    double Chrf(IReadOnlyList<int> idx) => Metrics.Chrf.Corpus(idx.Select(i => hyps[i]).ToArray(), ReferenceStreams(idx.Select(i => refs[i]).ToArray()), new ChrfOptions()).Score;
                    metrics["chrf"] = Chrf(Enumerable.Range(0, samples.Count).ToArray());
                    stderr["chrf"] = SampleStatistics.BootstrapStderr(samples.Count, Chrf, options.Seed);
                }
                break;
            case OutputType.LoglikelihoodRolling:
                double Sum(string key) => samples.Sum(s => s.Scores[key]);
                double ll = Sum("loglikelihood");
                metrics["word_perplexity"] = InformationMetrics.Perplexity(ll, Sum("words"));
                metrics["byte_perplexity"] = InformationMetrics.Perplexity(ll, Sum("bytes"));
                metrics["bits_per_byte"] = InformationMetrics.BitsPerByte(ll, Sum("bytes"));
                metrics["token_perplexity"] = InformationMetrics.Perplexity(ll, Sum("tokens"));
                break;
            case OutputType.Code:
                foreach (int k in task.PassK) if (samples.All(s => s.Scores.ContainsKey($"pass@{k}"))) Mean($"pass@{k}");
                break;
        }
        return new TaskResult
        {
            Task = task.Task, Model = model, DataHash = dataHash, Documents = samples.Count, NumFewshot = shots, Seed = options.Seed,
            Limit = options.Limit, Metrics = metrics, Stderr = stderr, Config = task,
        };
    }

    /// <summary>Per-segment reference lists as sacrebleu's reference streams (stream r holds every segment's r-th reference).</summary>
    static IReadOnlyList<IReadOnlyList<string?>> ReferenceStreams(string[][] references)
    {
        int streams = references.Max(r => r.Length);
        return Enumerable.Range(0, streams).Select(r => (IReadOnlyList<string?>)references.Select(refs => r < refs.Length ? refs[r] : null).ToArray()).ToArray();
    }
}
