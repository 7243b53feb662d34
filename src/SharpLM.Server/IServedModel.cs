using SharpLM.Inference.Batching;

namespace SharpLM.Server;

/// <summary>
/// A model behind <see cref="OpenAiServer"/>. The server calls it from every request at once, so an implementation
/// must be thread-safe: <see cref="GptServedModel"/> puts all generations into one continuous batch.
/// </summary>
public interface IServedModel
{
    /// <summary>Reported by /v1/models and in every response's <c>model</c>; requests choose a model by it.</summary>
    string Id { get; }

    /// <summary>Most tokens the model attends to at once.</summary>
    int ContextLength { get; }

    /// <summary>
    /// Every token of <paramref name="text"/>, in order, each scored given the tokens before it, with the
    /// <paramref name="top"/> most likely alternatives. Token texts concatenate to <paramref name="text"/>. A model may
    /// put a token of its own in front (e.g. an end-of-text token, with empty text) so that the text's first token is
    /// predicted too.
    /// </summary>
    /// <exception cref="InvalidInputException">The text cannot be scored (not encodable, or too long for a model that cannot window it).</exception>
    Task<IReadOnlyList<ScoredToken>> ScoreAsync(string text, int top, CancellationToken cancellation);

    /// <summary>
    /// Streams the continuation of <see cref="GenerationRequest.Prompt"/>; the last piece says why it ended
    /// (<see cref="GenerationEnd"/>). Cancelling <paramref name="cancellation"/> must stop the generation promptly:
    /// it is how the server stops one whose client has gone, whose time is up or whose server is stopping.
    /// </summary>
    /// <exception cref="InvalidInputException">The prompt cannot be encoded or does not fit (raised by the first MoveNextAsync).</exception>
    IAsyncEnumerable<GeneratedPiece> GenerateAsync(GenerationRequest request, CancellationToken cancellation);

    /// <summary>
    /// How many tokens <paramref name="text"/> takes in the context, so that prompt plus completion can be held to
    /// <see cref="ContextLength"/>. The default counts Unicode code points, exact for a character-level model.
    /// </summary>
    /// <exception cref="InvalidInputException">The text cannot be encoded.</exception>
    int CountTokens(string text) => text.EnumerateRunes().Count();

    /// <summary>
    /// The chat format the model was tuned on (an SFT run's <c>chat_template.json</c>), or null for a base model, whose
    /// chat requests become a plain "User: …" transcript. Tools need a template: calls and results are written in it.
    /// </summary>
    Adaptation.Formatting.ChatTemplate? ChatTemplate => null;

    /// <summary>Generations the model advances at once (its batch); the server queues requests beyond them.</summary>
    int Concurrency => 1;

    /// <summary>The batcher's counters for /metrics, or null for a model that does not batch.</summary>
    BatcherMetrics? Metrics => null;
}

/// <summary>One generation, as the OpenAI endpoints ask for it.</summary>
/// <param name="Prompt">Text to continue.</param>
/// <param name="MaxTokens">Most tokens to generate.</param>
/// <param name="Temperature">0 is greedy.</param>
/// <param name="TopP">Nucleus sampling: 1 samples from the whole distribution.</param>
/// <param name="Seed">Seed of the request's sampler; null samples differently each call.</param>
/// <param name="Stop">The text ends before the first of these.</param>
public sealed record GenerationRequest(string Prompt, int MaxTokens, double Temperature, double TopP, ulong? Seed, IReadOnlyList<string> Stop)
{
    /// <summary>Ends the text at any special token of the tokenizer (a chat reply never contains one), not just at end-of-text.</summary>
    public bool StopAtSpecialTokens { get; init; }

    /// <summary>Alternatives reported per generated token (0–20); null: no log probabilities.</summary>
    public int? TopLogprobs { get; init; }
}

/// <param name="Text">The token's characters (empty for a partial character or a token added in front of the text).</param>
/// <param name="Offset">Where the token starts in the scored text, in UTF-16 code units.</param>
/// <param name="LogProbability">Natural-log probability given the preceding tokens; null for the first token.</param>
/// <param name="Top">The most likely tokens at this position, best first; null for the first token.</param>
public sealed record ScoredToken(string Text, int Offset, double? LogProbability, IReadOnlyList<TokenAlternative>? Top);
