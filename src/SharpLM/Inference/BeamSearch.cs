using SharpLM.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Inference;

/// <summary>How <see cref="BeamSearch"/> searches.</summary>
public sealed record BeamSearchOptions
{
    /// <summary>Hypotheses kept per step (the beam width).</summary>
    public int Width { get; init; } = 4;
    /// <summary>New tokens at most.</summary>
    public int MaxNewTokens { get; init; } = 50;
    /// <summary>
    /// A finished hypothesis scores (sum of log-probabilities) ÷ length^penalty, its length counting the new tokens
    /// (the end-of-text token included): above 0 favours longer outputs, below 0 shorter ones (Hugging Face's
    /// length_penalty).
    /// </summary>
    public double LengthPenalty { get; init; } = 1.0;
    /// <summary>
    /// Stop as soon as <see cref="Width"/> hypotheses have finished (Hugging Face's early_stopping=True); otherwise
    /// search on until no live hypothesis could still beat the worst finished one (early_stopping="never").
    /// </summary>
    public bool EarlyStopping { get; init; }

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first bad field.</summary>
    public BeamSearchOptions Validate()
    {
        if (Width is < 1 or > 1024) throw new InvalidInputException($"beam width {Width}: must be 1 to 1024");
        if (MaxNewTokens < 1) throw new InvalidInputException($"max new tokens {MaxNewTokens}: must be at least 1");
        if (!double.IsFinite(LengthPenalty)) throw new InvalidInputException("length penalty must be a finite number");
        return this;
    }
}

/// <summary>One finished hypothesis: its new tokens (with the end-of-text token when it ended there) and scores.</summary>
/// <param name="Tokens">The generated ids.</param>
/// <param name="LogProbability">Sum of the tokens' log-probabilities.</param>
/// <param name="Score">LogProbability ÷ length^length_penalty, what the search ranks by.</param>
public sealed record BeamHypothesis(IReadOnlyList<int> Tokens, double LogProbability, double Score);

/// <summary>
/// Beam search (the survey's "approximately maximise the sequence probability"; Hugging Face's BeamSearchScorer):
/// keep the <see cref="BeamSearchOptions.Width"/> most probable partial outputs, extend each by every token, and keep
/// the best again. A hypothesis that produces the end-of-text token — among the width best candidates of a step —
/// is finished and ranked by its length-normalised score; at the token limit the live ones finish too. All live
/// hypotheses have the same length, so each step is one batched forward pass over them (recomputed from the prompt:
/// widths and lengths here are small; a cache reordered per step is the known speed-up).
/// </summary>
public static class BeamSearch
{
    /// <summary>The finished hypotheses for <paramref name="prompt"/>, best first (at most width of them).</summary>
    public static IReadOnlyList<BeamHypothesis> Search(LanguageModel model, IReadOnlyList<int> prompt, BeamSearchOptions options, int? endOfText, Device device)
    {
        options.Validate();
        if (prompt.Count == 0) throw new InvalidInputException("prompt: must encode to at least one token");
        if (prompt.Count + options.MaxNewTokens > model.Config.BlockSize)
            throw new InvalidInputException($"prompt ({prompt.Count} tokens) + max new tokens ({options.MaxNewTokens}) exceed the {model.Config.BlockSize}-token context");
        model.eval();
        double Score(double logProbability, int length) => logProbability / Math.Pow(length, options.LengthPenalty);
        var live = new List<(List<int> Tokens, double LogP)> { (new List<int>(), 0) };
        var finished = new List<BeamHypothesis>();
        for (int step = 1; step <= options.MaxNewTokens && live.Count > 0; step++)
        {
            float[][] logProbs;
            using (var scope = NewDisposeScope())
            using (inference_mode())
            {
                var rows = live.Select(b => prompt.Concat(b.Tokens).Select(t => (long)t).ToArray()).ToArray();
                var ids = tensor(rows.SelectMany(r => r).ToArray(), dtype: ScalarType.Int64, device: device).reshape(rows.Length, rows[0].Length);
                var last = model.forward(ids)[.., -1].to(ScalarType.Float32).log_softmax(-1).cpu();
                logProbs = Enumerable.Range(0, rows.Length).Select(i => last[i].data<float>().ToArray()).ToArray();
            }
            // The 2·width best extensions overall (as Hugging Face: enough that width live ones remain after ends).
            var candidates = live.SelectMany((b, i) => logProbs[i].Select((lp, token) => (Beam: i, Token: token, LogP: b.LogP + lp)))
                .OrderByDescending(c => c.LogP).ThenBy(c => c.Beam).ThenBy(c => c.Token).Take(2 * options.Width).ToList();
            var next = new List<(List<int>, double)>();
            for (int rank = 0; rank < candidates.Count && next.Count < options.Width; rank++)
            {
                var c = candidates[rank];
                var tokens = new List<int>(live[c.Beam].Tokens) { c.Token };
                if (c.Token == endOfText)
                {
                    if (rank < options.Width) finished.Add(new BeamHypothesis(tokens, c.LogP, Score(c.LogP, step)));
                    continue;
                }
                next.Add((tokens, c.LogP));
            }
            live = next;
            finished = finished.OrderByDescending(h => h.Score).Take(options.Width).ToList();
            if (finished.Count == options.Width)
            {
                if (options.EarlyStopping) break;
                // The best a live hypothesis can still score: log-probabilities only fall, so its sum is a ceiling; the
                // length divides it by at most (max length)^penalty when the penalty is positive, else by its present length^penalty.
                double worst = finished[^1].Score;
                bool hopeless = live.All(b => (options.LengthPenalty > 0 ? Score(b.LogP, options.MaxNewTokens) : Score(b.LogP, step)) <= worst);
                if (hopeless) break;
            }
        }
        // At the token limit the live hypotheses finish as they are.
        finished.AddRange(live.Where(b => b.Tokens.Count == options.MaxNewTokens).Select(b => new BeamHypothesis(b.Tokens, b.LogP, Score(b.LogP, b.Tokens.Count))));
        return finished.OrderByDescending(h => h.Score).Take(options.Width).ToList();
    }
}
