using System.Text;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Evaluation;

/// <summary>Perplexity of a text under a model, with the byte- and token-normalised forms.</summary>
public sealed record PerplexityResult
{
    /// <summary>Tokens the text encodes to (without the end-of-text token put in front).</summary>
    public required long Tokens { get; init; }
    /// <summary>Tokens that were predicted (all but the first).</summary>
    public required long PredictedTokens { get; init; }
    /// <summary>UTF-8 bytes the scored tokens cover: the whole text, less the first token's when it was context only.</summary>
    public required long Bytes { get; init; }
    /// <summary>Total negative log-likelihood of the predicted tokens, in nats.</summary>
    public required double NllSum { get; init; }
    /// <summary>exp(mean negative log-likelihood per predicted token).</summary>
    public required double Perplexity { get; init; }
    /// <summary>Mean negative log-likelihood per predicted token, in bits.</summary>
    public required double BitsPerToken { get; init; }
    /// <summary>Total negative log-likelihood in bits over the UTF-8 bytes it covers: comparable across tokenizers.</summary>
    public required double BitsPerByte { get; init; }
}

/// <summary>
/// Scores a text in windows of block_size predictions, each starting with fresh context. By default the windows
/// are consecutive and non-overlapping (lm-evaluation-harness's rolling log-likelihood); with a stride below
/// block_size they slide by that stride and each scores only its last stride predictions, so every token after the
/// first window sees at least block_size − stride tokens of context (the sliding-window perplexity of Hugging
/// Face's guide to fixed-length models), at block_size / stride times the compute. When the tokenizer has an
/// end-of-text token it is put in front (as lm-evaluation-harness does), so every token of the text is predicted
/// and bits-per-byte covers every byte; otherwise the first token only serves as context and its bytes are not
/// counted.
/// </summary>
public static class Perplexity
{
    /// <summary>The perplexity of a text under a model, scored as the class summary describes.</summary>
    /// <param name="model">The model; put in eval mode.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="text">The text to score.</param>
    /// <param name="device">The model's device.</param>
    /// <param name="batchSize">Windows per forward pass; results do not depend on it.</param>
    /// <param name="stride">Positions between window starts, 1 … block_size; null for block_size (no overlap).</param>
    /// <exception cref="InvalidInputException">The text encodes to fewer than two tokens (with the end-of-text token), or
    /// the stride is out of range.</exception>
    public static PerplexityResult Evaluate(LanguageModel model, ITokenizer tokenizer, string text, Device device, int batchSize = 8, int? stride = null)
    {
        int[] encoded = tokenizer.Encode(text);
        int[] ids = tokenizer.EndOfTextId is int eot ? [eot, .. encoded] : encoded;
        if (ids.Length < 2) throw new InvalidInputException("perplexity: text must encode to at least two tokens");
        double nll = -Score(model, ids, device, batchSize, stride).LogProbabilities.Sum(p => (double)p);
        long predicted = ids.Length - 1;
        long bytes = Encoding.UTF8.GetByteCount(text);
        if (tokenizer.EndOfTextId is null) // the first token was context only; char tokens are whole characters
            bytes -= Encoding.UTF8.GetByteCount(tokenizer.Decode(ids.AsSpan(0, 1)));
        return new PerplexityResult
        {
            Tokens = encoded.Length, PredictedTokens = predicted, Bytes = bytes, NllSum = nll,
            Perplexity = Math.Exp(nll / predicted), BitsPerToken = nll / predicted / Math.Log(2),
            BitsPerByte = nll / Math.Log(2) / Math.Max(1, bytes),
        };
    }

    /// <summary>
    /// Per position k of a scored sequence: log P(ids[k + 1]), and the <paramref name="Top"/> most likely tokens there with
    /// their log P, best first, at [k·Top … (k+1)·Top).
    /// </summary>
    public sealed record TokenScores(float[] LogProbabilities, float[] BestLogProbabilities, long[] BestIds, int Top = 1);

    /// <summary>A window: predictions Start … Start+Length−1, of which those from ScoreFrom on are kept.</summary>
    readonly record struct Window(int Start, int Length, int ScoreFrom);

    /// <summary>
    /// Every token of <paramref name="ids"/> but the first, scored given the tokens before it in windows of
    /// block_size predictions (see the class summary for <paramref name="stride"/>). Windows of equal length are
    /// batched; only the log-sum-exp, the targets' logits and the argmax leave the device, never the
    /// vocabulary-wide distribution.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="ids">The token ids; every one but the first is scored.</param>
    /// <param name="device">Where the model lives.</param>
    /// <param name="batchSize">Windows per forward pass.</param>
    /// <param name="stride">Predictions between window starts (block_size: disjoint windows).</param>
    /// <param name="top">Most likely tokens kept per position (OpenAI's logprobs asks for up to 20).</param>
    public static TokenScores Score(LanguageModel model, int[] ids, Device device, int batchSize = 8, int? stride = null, int top = 1)
    {
        int t = model.ContextLength, rows = ids.Length - 1;
        int step = stride ?? t;
        if (step < 1 || step > t) throw new InvalidInputException($"perplexity: stride {step} must be between 1 and the context length {t}");
        if (top < 1) throw new ArgumentOutOfRangeException(nameof(top), "at least the best token is kept");
        var scores = new TokenScores(new float[rows], new float[rows * top], new long[rows * top], top);
        var windows = new List<Window>();
        for (int start = 0, scoredTo = 0; scoredTo < rows; start += step)
        {
            int len = Math.Min(t, rows - start);
            windows.Add(new Window(start, len, scoredTo));
            scoredTo = start + len;
        }
        model.eval();
        using var mode = inference_mode();
        for (int w = 0; w < windows.Count; w += batchSize)
        {
            using var scope = NewDisposeScope();
            // Windows of equal length batch together; only the last may be shorter, so it goes alone.
            var group = windows.Skip(w).Take(batchSize).ToList();
            foreach (var batch in group.GroupBy(x => x.Length).Select(g => g.ToList()))
            {
                int len = batch[0].Length;
                var x = new long[batch.Count * len];
                var y = new long[batch.Count * len];
                for (int b = 0; b < batch.Count; b++)
                    for (int i = 0; i < len; i++)
                    {
                        x[b * len + i] = ids[batch[b].Start + i];
                        y[b * len + i] = ids[batch[b].Start + i + 1];
                    }
                Tensor logits = model.forward(tensor(x, new long[] { batch.Count, len }).to(device)).to(ScalarType.Float32);
                Tensor lse = logits.logsumexp(-1);
                float[] chosen = (logits.gather(2, tensor(y, new long[] { batch.Count, len, 1 }).to(device)).squeeze(2) - lse).cpu().data<float>().ToArray();
                var (best, bestIds) = logits.topk(top, -1);
                float[] bestLog = (best - lse.unsqueeze(-1)).cpu().data<float>().ToArray();
                long[] argmax = bestIds.cpu().data<long>().ToArray();
                foreach (var (win, b) in batch.Select((win, b) => (win, b)))
                {
                    int skip = win.ScoreFrom - win.Start, keep = win.Length - skip;
                    Array.Copy(chosen, b * len + skip, scores.LogProbabilities, win.ScoreFrom, keep);
                    Array.Copy(bestLog, (b * len + skip) * top, scores.BestLogProbabilities, win.ScoreFrom * top, keep * top);
                    Array.Copy(argmax, (b * len + skip) * top, scores.BestIds, win.ScoreFrom * top, keep * top);
                }
            }
        }
        return scores;
    }
}
