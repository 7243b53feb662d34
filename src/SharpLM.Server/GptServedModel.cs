using System.Runtime.CompilerServices;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Inference;
using SharpLM.Inference.Batching;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using static TorchSharp.torch;

namespace SharpLM.Server;

/// <summary>How a <see cref="GptServedModel"/> batches its requests.</summary>
public sealed record ServingOptions
{
    /// <summary>Generations advanced together (the KV-cache slots); more requests wait for a slot.</summary>
    public int MaxBatch { get; init; } = 16;

    /// <summary>Prompt tokens fed per step, shared by the requests still reading their prompts.</summary>
    public int PrefillChunk { get; init; } = 256;
}

/// <summary>
/// A SharpLM checkpoint (a <see cref="LanguageModel"/> and its tokenizer) as a served model. Every request's
/// generation joins one <see cref="ContinuousBatcher"/>; scoring is <see cref="Evaluation.Perplexity.Score"/>, run on
/// the batcher's thread between steps. When the tokenizer has an end-of-text token it goes in front of a scored
/// text (as <see cref="Evaluation.Perplexity"/> does), so the text's first token is predicted too, and it ends every
/// generation. With a <see cref="LoraSet"/>, <see cref="ForAdapter"/> serves each adapter under its own name in the
/// same batch: one copy of the base weights, each request's rows computed with its adapter.
/// </summary>
public sealed class GptServedModel : IServedModel, IDisposable
{
    readonly LanguageModel model;
    readonly ITokenizer tokenizer;
    readonly Device device;
    readonly ContinuousBatcher batcher;
    readonly LoraSet? adapters;
    readonly int[] endOfText, specialTokens;

    /// <summary>Serves <paramref name="model"/> as <paramref name="id"/>, batching up to <see cref="ServingOptions.MaxBatch"/> generations.</summary>
    /// <param name="adapters">LoRA adapters attached to <paramref name="model"/>, served by <see cref="ForAdapter"/>; this model serves the base.</param>
    public GptServedModel(LanguageModel model, ITokenizer tokenizer, Device device, string id, Adaptation.Formatting.ChatTemplate? chatTemplate = null, ServingOptions? serving = null, LoraSet? adapters = null)
    {
        serving ??= new ServingOptions();
        this.model = model;
        this.tokenizer = tokenizer;
        this.device = device;
        this.adapters = adapters;
        Id = id;
        ChatTemplate = chatTemplate;
        batcher = new ContinuousBatcher(BatchDecoder.For(model, serving.MaxBatch, device, serving.PrefillChunk, adapters), tokenizer);
        endOfText = tokenizer.EndOfTextId is int eot ? [eot] : [];
        specialTokens = [.. endOfText.Concat(tokenizer.SpecialTokenIds.Values).Distinct()];
    }

    public string Id { get; }

    public int ContextLength => model.ContextLength;

    public Adaptation.Formatting.ChatTemplate? ChatTemplate { get; }

    public int Concurrency => batcher.MaxBatch;

    public BatcherMetrics? Metrics => batcher.Metrics;

    public IAsyncEnumerable<GeneratedPiece> GenerateAsync(GenerationRequest request, CancellationToken cancellation) => Generate(request, -1, cancellation);

    public Task<IReadOnlyList<ScoredToken>> ScoreAsync(string text, int top, CancellationToken cancellation) => Score(text, top, -1, cancellation);

    /// <summary>
    /// Adapter <paramref name="adapter"/> of the set as a served model called <paramref name="id"/> with
    /// <paramref name="chatTemplate"/>: its generations join this model's batch, its rows computed with the adapter.
    /// It shares this model's tokenizer, limits and metrics (counted under this model's name); dispose this model only.
    /// </summary>
    public IServedModel ForAdapter(int adapter, string id, Adaptation.Formatting.ChatTemplate? chatTemplate)
    {
        if (adapters is null || adapter < 0 || adapter >= adapters.Count) throw new ArgumentOutOfRangeException(nameof(adapter), $"adapter {adapter}: the model serves {adapters?.Count ?? 0}");
        return new AdapterView(this, adapter, id, chatTemplate);
    }

    async IAsyncEnumerable<GeneratedPiece> Generate(GenerationRequest request, int adapter, [EnumeratorCancellation] CancellationToken cancellation)
    {
        var batch = new BatchRequest
        {
            Prompt = tokenizer.Encode(request.Prompt),
            Sampling = new SamplingOptions
            {
                MaxNewTokens = request.MaxTokens, Temperature = request.Temperature, TopK = 0, TopP = request.TopP, StopStrings = request.Stop,
                Seed = request.Seed ?? (ulong)Random.Shared.NextInt64(),
            },
            StopTokens = request.StopAtSpecialTokens ? specialTokens : endOfText,
            TopLogprobs = request.TopLogprobs,
            Adapter = adapter,
        };
        await foreach (var piece in batcher.GenerateAsync(batch, cancellation)) yield return piece;
    }

    Task<IReadOnlyList<ScoredToken>> Score(string text, int top, int adapter, CancellationToken cancellation) =>
        batcher.RunExclusiveAsync(() =>
        {
            // Between steps on the batcher's thread: every row of the scoring passes uses the one adapter.
            adapters?.RouteAll(adapter);
            return Score(text, top);
        }, cancellation);

    IReadOnlyList<ScoredToken> Score(string text, int top)
    {
        int[] encoded = tokenizer.Encode(text);
        int[] ids = tokenizer.EndOfTextId is int eot ? [eot, .. encoded] : encoded;
        top = Math.Clamp(top, 1, model.Config.VocabSize);
        // Longer texts than the window are scored in windows, as Perplexity scores them (so rolling scores agree).
        var scores = ids.Length > 1 ? Evaluation.Perplexity.Score(model, ids, device, top: top) : new([], [], [], top);

        // Row k of the forward pass predicts ids[k + 1]; encoded[j] is ids[j + shift].
        int shift = ids.Length - encoded.Length;
        int[] starts = TokenStarts(text, encoded);
        var tokens = new List<ScoredToken>(ids.Length);
        if (shift == 1) tokens.Add(new ScoredToken("", 0, null, null));
        for (int j = 0; j < encoded.Length; j++)
        {
            int k = j + shift;
            string tokenText = text[starts[j]..(j + 1 < encoded.Length ? starts[j + 1] : text.Length)];
            tokens.Add(k == 0
                ? new ScoredToken(tokenText, starts[j], null, null)
                : new ScoredToken(tokenText, starts[j], scores.LogProbabilities[k - 1], Enumerable.Range((k - 1) * top, top)
                    .Select(i => new TokenAlternative(tokenizer.Decode([(int)scores.BestIds[i]]), scores.BestLogProbabilities[i])).ToArray()));
        }
        return tokens;
    }

    /// <summary>
    /// Where each token starts in <paramref name="text"/>: the length of the text that the tokens before it decode
    /// to. A prefix ending inside a multi-byte character decodes with a replacement character, so the common
    /// prefix with the text is taken; the token that completes the character then carries all of it. Decoding
    /// concatenates at character boundaries (SharpLM's char and byte-level tokenizers do), so each step decodes
    /// only the tokens since the last boundary instead of the whole prefix.
    /// </summary>
    int[] TokenStarts(string text, int[] encoded)
    {
        var starts = new int[encoded.Length];
        int anchor = 0; // tokens before it decode to exactly text[..starts[anchor]]
        for (int j = 1; j < encoded.Length; j++)
        {
            string piece = tokenizer.Decode(encoded.AsSpan(anchor, j - anchor));
            int matched = piece.AsSpan().CommonPrefixLength(text.AsSpan(starts[anchor]));
            starts[j] = starts[anchor] + matched;
            if (matched == piece.Length) anchor = j;
        }
        return starts;
    }

    /// <summary>The tokenizer's count (its encoders are immutable, so safe beside a running generation).</summary>
    public int CountTokens(string text) => tokenizer.Encode(text).Length;

    /// <summary>Stops the batcher: generations still running end as cancelled.</summary>
    public void Dispose() => batcher.Dispose();

    /// <summary>One adapter of the set, served beside the base.</summary>
    sealed class AdapterView(GptServedModel owner, int adapter, string id, Adaptation.Formatting.ChatTemplate? chatTemplate) : IServedModel
    {
        public string Id => id;
        public int ContextLength => owner.ContextLength;
        public Adaptation.Formatting.ChatTemplate? ChatTemplate => chatTemplate;
        public int Concurrency => owner.Concurrency;
        public BatcherMetrics? Metrics => owner.Metrics;
        public int CountTokens(string text) => owner.CountTokens(text);
        public IAsyncEnumerable<GeneratedPiece> GenerateAsync(GenerationRequest request, CancellationToken cancellation) => owner.Generate(request, adapter, cancellation);
        public Task<IReadOnlyList<ScoredToken>> ScoreAsync(string text, int top, CancellationToken cancellation) => owner.Score(text, top, adapter, cancellation);
    }
}
