using SharpLM.Adaptation.Formatting;
using SharpLM.Evaluation.Harness;
using SharpLM.Evaluation.Metrics;
using SharpLM.Runtime;
using SharpLM.Utilization.Prompting;

namespace SharpLM.Evaluation;

/// <summary>One prompt's answers on the dev set: exact match per row (1 or 0) and their mean.</summary>
public sealed record PromptVariantResult(string Prompt, double Accuracy, IReadOnlyList<double> Scores, IReadOnlyList<string> Answers);

/// <summary>A against B on the same rows: B − A in accuracy, its paired-bootstrap interval, and what it means.</summary>
public sealed record PromptComparisonResult(PromptVariantResult A, PromptVariantResult B, double Difference, double Low, double High, double Confidence, int Resamples, string Verdict);

/// <summary>
/// `sharplm prompt ab`: two prompt files run on the same dev rows by the same model, scored by exact match of the
/// answer (the generation's first line, SQuAD-normalised as <see cref="AnswerMetrics.ExactMatch(string, string)"/>), and
/// compared with a paired bootstrap: rows are resampled with replacement and B − A recomputed on each resample, so the
/// interval reflects that both prompts saw the same questions (Koehn 2004's paired resampling). The verdict is "B
/// better" or "A better" when the interval excludes 0, else "no clear difference".
/// </summary>
public static class PromptComparison
{
    /// <summary>The difference B − A of the mean scores, and its percentile interval over <paramref name="resamples"/> paired resamples.</summary>
    /// <exception cref="ArgumentException">Lists of different lengths, no rows, or a confidence outside (0, 1).</exception>
    public static (double Difference, double Low, double High) PairedBootstrap(IReadOnlyList<double> a, IReadOnlyList<double> b, int resamples = 1000, double confidence = 0.95, ulong seed = 1234)
    {
        if (a.Count != b.Count) throw new ArgumentException($"{a.Count} scores for A but {b.Count} for B: a paired comparison needs the same rows");
        if (a.Count == 0) throw new ArgumentException("no rows to compare");
        if (!(confidence is > 0 and < 1)) throw new ArgumentException("confidence must be in (0, 1)");
        if (resamples < 1) throw new ArgumentException("resamples must be at least 1");
        int n = a.Count;
        double[] diff = Enumerable.Range(0, n).Select(i => b[i] - a[i]).ToArray();
        var random = new SplitMix64(seed);
        var means = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += diff[random.NextLong(n)];
            means[r] = sum / n;
        }
        Array.Sort(means);
        double tail = (1 - confidence) / 2;
        return (diff.Average(), Percentile(means, tail), Percentile(means, 1 - tail));
    }

    // Linear interpolation between closest ranks (numpy's default percentile).
    static double Percentile(double[] sorted, double q)
    {
        double position = q * (sorted.Length - 1);
        int lower = (int)Math.Floor(position), upper = (int)Math.Ceiling(position);
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
    }

    /// <summary>Runs both prompts on the rows of <paramref name="dataPath"/> (JSON or JSONL; each row binds the prompts' variables; <paramref name="answerField"/> holds the gold answer) and compares them.</summary>
    /// <exception cref="InvalidInputException">A row lacks the answer field or a variable a prompt reads (naming file:line).</exception>
    public static async Task<PromptComparisonResult> RunAsync(IEvaluationModel model, PromptFile a, PromptFile b, string dataPath, string answerField,
        int? limit = null, int maxTokens = 32, IReadOnlyList<string>? stop = null, int resamples = 1000, ulong seed = 1234, CancellationToken cancellation = default)
    {
        var records = JsonRecordFile.Read(dataPath).Take(limit ?? int.MaxValue).ToList();
        var rows = records.Select(r =>
        {
            if (r.Value.ValueKind != System.Text.Json.JsonValueKind.Object) throw InvalidInputException.ForFile($"{dataPath}:{r.Line}", "a dev row is a JSON object");
            var fields = r.Value.EnumerateObject().ToDictionary(p => p.Name, p => PromptTemplate.AsText(p.Value), StringComparer.Ordinal);
            if (!fields.ContainsKey(answerField)) throw InvalidInputException.ForFile($"{dataPath}:{r.Line}", $"no '{answerField}' field (the gold answer)");
            return (r.Line, Fields: fields);
        }).ToList();
        async Task<PromptVariantResult> Run(PromptFile prompt)
        {
            var requests = rows.Select(row =>
            {
                try { return new GenerationRequest(prompt.Render(row.Fields), stop ?? ["\n"], maxTokens); }
                catch (InvalidInputException e) { throw InvalidInputException.ForFile($"{dataPath}:{row.Line}", $"{prompt.Path}: {e.Message}", e); }
            }).ToList();
            var outputs = await model.GenerateAsync(requests, cancellation);
            var answers = outputs.Select(o => o.TrimStart('\n').Split('\n')[0].Trim()).ToList();
            var scores = answers.Select((answer, i) => AnswerMetrics.ExactMatch(answer, rows[i].Fields[answerField])).ToList();
            return new PromptVariantResult(prompt.Path, scores.Count == 0 ? 0 : scores.Average(), scores, answers);
        }
        var resultA = await Run(a);
        var resultB = await Run(b);
        const double confidence = 0.95;
        var (difference, low, high) = PairedBootstrap(resultA.Scores, resultB.Scores, resamples, confidence, seed);
        string verdict = low > 0 ? "B better" : high < 0 ? "A better" : "no clear difference";
        return new PromptComparisonResult(resultA, resultB, difference, low, high, confidence, resamples, verdict);
    }
}
