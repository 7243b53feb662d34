namespace SharpLM.Server;

/// <summary>
/// A model behind <see cref="OpenAiServer"/>. The server calls it from one request at a time, so an
/// implementation need not be thread-safe.
/// </summary>
public interface IServedModel
{
    /// <summary>Reported by /v1/models and in every response's <c>model</c>.</summary>
    string Id { get; }

    /// <summary>Most tokens the model attends to at once.</summary>
    int ContextLength { get; }

    /// <summary>
    /// Every token of <paramref name="text"/>, in order, each scored given the tokens before it. Token texts
    /// concatenate to <paramref name="text"/>. A model may put a token of its own in front (e.g. an end-of-text
    /// token, with empty text) so that the text's first token is predicted too.
    /// </summary>
    /// <exception cref="InvalidInputException">The text cannot be scored (not encodable, or too long for a model that cannot window it).</exception>
    IReadOnlyList<ScoredToken> Score(string text);

    /// <summary>
    /// Streams the continuation of <paramref name="prompt"/>: at most <paramref name="maxTokens"/> tokens, ending
    /// before the first occurrence of any <paramref name="stop"/> string. Temperature 0 is greedy; a null
    /// <paramref name="seed"/> samples differently each call. <paramref name="cancellation"/> must be checked for
    /// every token, also while no text is released (held back for a stop string): it is how the server stops a
    /// generation whose client has gone, whose time is up or whose server is stopping.
    /// </summary>
    IEnumerable<string> Generate(string prompt, int maxTokens, double temperature, ulong? seed, IReadOnlyList<string> stop, CancellationToken cancellation);

    /// <summary>
    /// How many tokens <paramref name="text"/> takes in the context, so that prompt plus completion can be held to
    /// <see cref="ContextLength"/>. Called outside the one-request-at-a-time lock, so it must be thread-safe. The
    /// default counts Unicode code points, exact for a character-level model.
    /// </summary>
    /// <exception cref="InvalidInputException">The text cannot be encoded.</exception>
    int CountTokens(string text) => text.EnumerateRunes().Count();

    /// <summary>
    /// The chat format the model was tuned on (an SFT run's <c>chat_template.json</c>), or null for a base model, whose
    /// chat requests become a plain "User: …" transcript. Tools need a template: calls and results are written in it.
    /// </summary>
    Adaptation.Formatting.ChatTemplate? ChatTemplate => null;

    /// <summary>The tokenizer's special tokens as text: a chat reply stops at any of them (it never contains one).</summary>
    IReadOnlyCollection<string> SpecialTokens => [];
}

/// <param name="Text">The token's characters (empty for a partial character or a token added in front of the text).</param>
/// <param name="Offset">Where the token starts in the scored text, in UTF-16 code units.</param>
/// <param name="LogProbability">Natural-log probability given the preceding tokens; null for the first token.</param>
/// <param name="Top">The most likely token at this position; null for the first token.</param>
public sealed record ScoredToken(string Text, int Offset, double? LogProbability, TokenAlternative? Top);

public sealed record TokenAlternative(string Text, double LogProbability);
