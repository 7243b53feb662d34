namespace SharpLM.Evaluation.Harness;

/// <summary>log P(continuation | context): the unit of multiple-choice scoring.</summary>
public sealed record LoglikelihoodRequest(string Context, string Continuation);

/// <param name="LogProbability">Natural-log probability of the continuation's tokens given the context.</param>
/// <param name="IsGreedy">Whether greedy decoding from the context would produce exactly the continuation.</param>
/// <param name="Tokens">How many tokens the continuation took.</param>
public sealed record LoglikelihoodResult(double LogProbability, bool IsGreedy, int Tokens);

/// <summary>Text generation until a stop string or a token budget, as lm-evaluation-harness's generate_until.</summary>
/// <param name="Context">The prompt the model continues.</param>
/// <param name="Stop">Stop strings: the text is cut before the first of them.</param>
/// <param name="MaxTokens">Most tokens to generate.</param>
/// <param name="Temperature">0 is greedy decoding (what benchmark scoring uses).</param>
/// <param name="Seed">Seeds sampling when the temperature is above 0.</param>
public sealed record GenerationRequest(string Context, IReadOnlyList<string> Stop, int MaxTokens, double Temperature = 0, ulong Seed = 0);

/// <summary>The log-probability of a whole text (every token predicted), for perplexity and bits-per-byte.</summary>
public sealed record RollingLoglikelihoodResult(double LogProbability, int Tokens);

/// <summary>
/// What the evaluation harness needs from a model, whether a local SharpLM checkpoint or a remote
/// OpenAI-compatible server. Requests come in batches so an implementation can batch, sort by length or send them
/// concurrently; results are in request order and must not depend on how requests are batched.
/// </summary>
public interface IEvaluationModel
{
    /// <summary>A name for reports ("checkpoint:out/run", "openai:http://127.0.0.1:8080/v1 model=x").</summary>
    string Name { get; }

    /// <summary>log P(continuation | context) for each request, with whether the continuation is the greedy one.</summary>
    Task<IReadOnlyList<LoglikelihoodResult>> LoglikelihoodAsync(IReadOnlyList<LoglikelihoodRequest> requests, CancellationToken cancellation = default);

    /// <summary>The log-probability of each whole text, every token predicted.</summary>
    Task<IReadOnlyList<RollingLoglikelihoodResult>> LoglikelihoodRollingAsync(IReadOnlyList<string> texts, CancellationToken cancellation = default);

    /// <summary>Generated text per request, without the context, cut before the first stop string.</summary>
    Task<IReadOnlyList<string>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellation = default);
}

/// <summary>A model that cannot do what a task asks (e.g. a chat-only endpoint asked for log-likelihoods).</summary>
public sealed class ModelCapabilityException(string message) : Exception(message);

/// <summary>
/// A model that can embed text from its own hidden states (<see cref="Inference.TextEmbedder"/>), for few-shot
/// selection by embedding nearest neighbours. A remote model has no hidden states to offer.
/// </summary>
public interface IEmbeddingModel
{
    /// <summary>A unit-length vector for <paramref name="text"/>: the dot product of two is their cosine.</summary>
    float[] Embed(string text);
}
