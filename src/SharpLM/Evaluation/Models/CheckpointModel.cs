using SharpLM.Evaluation.Harness;
using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Evaluation.Models;

/// <summary>
/// A SharpLM model scored the way lm-evaluation-harness scores a Hugging Face causal LM: context and continuation
/// are tokenized separately (trailing whitespace of the context moves to the continuation), the pair is cut from
/// the left to the model's window, and the continuation's token log-probabilities are summed. Requests are sorted
/// by length and batched with right padding; causal attention means padding never reaches a scored position, so
/// results do not depend on the batch size.
/// </summary>
public sealed class CheckpointModel : IEvaluationModel, IEmbeddingModel
{
    readonly LanguageModel model;
    readonly LenientTokenizer tokenizer;
    readonly Device device;
    readonly int batchSize;
    TextEmbedder? embedder;

    /// <summary>Wraps an already loaded model; the tokenizer is made lenient (<see cref="LenientTokenizer"/>).</summary>
    /// <param name="model">The model, on <paramref name="device"/>.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="device">Where inputs are sent.</param>
    /// <param name="name">The name for reports.</param>
    /// <param name="batchSize">Rows scored per forward pass; at least 1. Results do not depend on it.</param>
    public CheckpointModel(LanguageModel model, ITokenizer tokenizer, Device device, string name, int batchSize = 16)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), "batch size must be at least 1");
        this.model = model;
        this.tokenizer = new LenientTokenizer(tokenizer);
        this.device = device;
        this.batchSize = batchSize;
        Name = name;
    }

    /// <summary>The mean final hidden state of <paramref name="text"/>, unit length (<see cref="TextEmbedder"/>).</summary>
    /// <exception cref="InvalidInputException">The model is not a decoder with readable hidden states.</exception>
    public float[] Embed(string text) => (embedder ??= new TextEmbedder(model, tokenizer, device)).Embed(text);

    /// <summary>Loads a model in any format <see cref="Adaptation.ModelBundle"/> reads (a run directory, hf:DIR, gguf:FILE).</summary>
    public static CheckpointModel Load(string spec, Device device, int batchSize = 16)
    {
        var bundle = Adaptation.ModelBundle.Load(spec, device);
        return new CheckpointModel(bundle.Model, bundle.Tokenizer, device, $"checkpoint:{spec}", batchSize);
    }

    /// <summary>The name for reports; "checkpoint:DIR" when loaded with <see cref="Load"/>.</summary>
    public string Name { get; }

    /// <summary>Characters of prompts and answers the tokenizer has no id for, which the model therefore never saw.</summary>
    public long DroppedCharacters => tokenizer.DroppedCharacters;

    /// <summary>log P(continuation | context) per request, as the class summary describes, and whether every
    /// continuation token is the model's argmax.</summary>
    /// <exception cref="InvalidInputException">A continuation encodes to no tokens, or an empty context cannot be
    /// stood in for.</exception>
    public Task<IReadOnlyList<LoglikelihoodResult>> LoglikelihoodAsync(IReadOnlyList<LoglikelihoodRequest> requests, CancellationToken cancellation = default)
    {
        // A request is one row (or, past the window, several: see Encode); rows are scored and summed back per request.
        var rows = requests.SelectMany((r, i) => Encode(r).Select(row => (Request: i, Row: row))).ToArray();
        var scored = new LoglikelihoodResult[rows.Length];
        // Longest first (as lm-eval): similar lengths share a batch, and the first batch shows the peak memory.
        var order = Enumerable.Range(0, rows.Length).OrderByDescending(i => rows[i].Row.Input.Length).ThenBy(i => i).ToArray();
        model.eval();
        for (int start = 0; start < order.Length; start += batchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            var batch = order.Skip(start).Take(batchSize).ToArray();
            var results = ScoreBatch(batch.Select(i => rows[i].Row).ToArray());
            for (int k = 0; k < batch.Length; k++) scored[batch[k]] = results[k];
        }
        var total = new LoglikelihoodResult[requests.Count];
        foreach (var group in rows.Select((r, i) => (r.Request, Result: scored[i])).GroupBy(x => x.Request))
            total[group.Key] = new LoglikelihoodResult(group.Sum(x => x.Result.LogProbability), group.All(x => x.Result.IsGreedy), group.Sum(x => x.Result.Tokens));
        return Task.FromResult<IReadOnlyList<LoglikelihoodResult>>(total);
    }

    /// <summary>Model input whose last <see cref="Targets"/>.Length outputs predict the targets.</summary>
    sealed record Encoded(long[] Input, int[] Targets);

    /// <summary>
    /// The rows that score a request. Context and continuation are cut from the left to the model's window, as
    /// lm-eval does; a continuation longer than the window (a long answer choice for a small model) is scored in
    /// consecutive chunks, each seeing the window of tokens before it, like a rolling log-likelihood.
    /// </summary>
    IEnumerable<Encoded> Encode(LoglikelihoodRequest request)
    {
        string context = request.Context, continuation = request.Continuation;
        int spaces = context.Length - context.TrimEnd().Length;
        if (spaces > 0) { continuation = context[^spaces..] + continuation; context = context[..^spaces]; }
        int[] contextIds = context.Length > 0 ? tokenizer.Encode(context) : tokenizer.EndOfTextId is int eot ? [eot] : [];
        int[] continuationIds = tokenizer.Encode(continuation);
        if (contextIds.Length == 0)
        {
            // No context and no end-of-text token to stand for it: the first continuation token can only be context.
            if (continuationIds.Length < 2) throw new InvalidInputException("loglikelihood: an empty context needs an end-of-text token or a continuation of two tokens or more");
            (contextIds, continuationIds) = (continuationIds[..1], continuationIds[1..]);
        }
        if (continuationIds.Length == 0) throw new InvalidInputException("loglikelihood: the continuation encodes to no tokens");
        int window = model.ContextLength;
        long[] whole = [.. contextIds.Select(t => (long)t), .. continuationIds.Select(t => (long)t)];
        // Targets whole[a..b) in chunks of at most one window; input whole[st..b-1) with st = max(0, b-1-window).
        for (int a = contextIds.Length; a < whole.Length; a += window)
        {
            int b = Math.Min(whole.Length, a + window), st = Math.Max(0, b - 1 - window);
            yield return new Encoded(whole[st..(b - 1)], continuationIds[(a - contextIds.Length)..(b - contextIds.Length)]);
        }
    }

    LoglikelihoodResult[] ScoreBatch(Encoded[] batch)
    {
        int length = batch.Max(e => e.Input.Length);
        var ids = new long[batch.Length * length]; // right padding with token 0 is never attended to by a scored position
        for (int b = 0; b < batch.Length; b++) Array.Copy(batch[b].Input, 0, ids, b * length, batch[b].Input.Length);
        var targets = new long[ids.Length]; // at each input position, the token it should predict (0 where nothing is scored)
        for (int b = 0; b < batch.Length; b++)
        {
            int first = batch[b].Input.Length - batch[b].Targets.Length; // position whose output predicts the first target
            for (int k = 0; k < batch[b].Targets.Length; k++) targets[b * length + first + k] = batch[b].Targets[k];
        }
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        // Only [batch, length] tensors leave the device: the targets' logits, the log-sum-exp and the argmax,
        // never the vocabulary-wide distribution (at a GPT-2 vocabulary that is gigabytes per batch).
        var logits = model.forward(tensor(ids, [batch.Length, length]).to(device)).to(ScalarType.Float32);
        var lse = logits.logsumexp(-1);
        float[] chosen = (logits.gather(2, tensor(targets, [batch.Length, length, 1]).to(device)).squeeze(2) - lse).cpu().data<float>().ToArray();
        long[] argmax = logits.argmax(-1).cpu().data<long>().ToArray();
        var results = new LoglikelihoodResult[batch.Length];
        for (int b = 0; b < batch.Length; b++)
        {
            var (input, continuation) = (batch[b].Input, batch[b].Targets);
            int first = input.Length - continuation.Length;
            double sum = 0;
            bool greedy = true;
            for (int k = 0; k < continuation.Length; k++)
            {
                int at = b * length + first + k;
                sum += chosen[at];
                greedy &= argmax[at] == continuation[k];
            }
            results[b] = new LoglikelihoodResult(sum, greedy, continuation.Length);
        }
        return results;
    }

    /// <summary>Each text's log-probability over its predicted tokens, scored by <see cref="Perplexity.Evaluate"/> in
    /// consecutive windows (lm-evaluation-harness's rolling log-likelihood).</summary>
    public Task<IReadOnlyList<RollingLoglikelihoodResult>> LoglikelihoodRollingAsync(IReadOnlyList<string> texts, CancellationToken cancellation = default)
    {
        var results = new RollingLoglikelihoodResult[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var p = Perplexity.Evaluate(model, tokenizer, texts[i], device, batchSize);
            results[i] = new RollingLoglikelihoodResult(-p.NllSum, (int)p.PredictedTokens);
        }
        return Task.FromResult<IReadOnlyList<RollingLoglikelihoodResult>>(results);
    }

    /// <summary>Generates each request in turn with <see cref="Inference.Generator"/>: greedy at temperature 0, else
    /// sampled with the request's seed; an empty context is replaced by "\n".</summary>
    public Task<IReadOnlyList<string>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellation = default)
    {
        var generator = new Inference.Generator(model, tokenizer, device);
        var outputs = new string[requests.Count];
        for (int i = 0; i < requests.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var r = requests[i];
            var options = new SamplingOptions { MaxNewTokens = r.MaxTokens, Temperature = r.Temperature, StopStrings = r.Stop, Seed = r.Seed };
            string prompt = r.Context.Length > 0 ? r.Context : "\n";
            outputs[i] = generator.Generate(prompt, options);
        }
        return Task.FromResult<IReadOnlyList<string>>(outputs);
    }
}
