namespace SharpLM.Inference.Batching;

/// <summary>One generation for <see cref="ContinuousBatcher"/>: a prompt and how to continue it.</summary>
public sealed record BatchRequest
{
    /// <summary>Token ids to continue (at least one; prompt plus generated tokens must fit the context).</summary>
    public required IReadOnlyList<int> Prompt { get; init; }

    /// <summary>
    /// How tokens are picked and when text ends: max_new_tokens, temperature, top-k, top-p, repetition penalty, stop
    /// strings and seed, as for <see cref="Generator"/>. Each request samples with its own seeded generator, so its
    /// text does not depend on the requests it shares a batch with.
    /// </summary>
    public SamplingOptions Sampling { get; init; } = new();

    /// <summary>Token ids that end the generation without being part of it: end-of-text, and for a chat reply every special token.</summary>
    public IReadOnlyCollection<int> StopTokens { get; init; } = [];

    /// <summary>Alternatives reported with each token's log probability (0–20); null reports no log probabilities.</summary>
    public int? TopLogprobs { get; init; }

    /// <summary>Most alternatives a request may ask for (OpenAI's limit).</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>The LoRA adapter the generation uses, by its number in the decoder's <see cref="Adaptation.Peft.Lora.LoraSet"/>; −1 for the base.</summary>
    public int Adapter { get; init; } = -1;
}

/// <summary>
/// What a request receives as its generation advances: text that became final (<see cref="Text"/>, often empty while
/// a stop-string prefix or a partial character is held back), the token just generated, and, last, how it ended.
/// </summary>
public sealed record GeneratedPiece(string Text, GeneratedToken? Token, GenerationEnd? End);

/// <summary>A generated token: its id, its own text, and with log probabilities requested, its natural-log probability under the model (before temperature) and the most likely alternatives.</summary>
public sealed record GeneratedToken(int Id, string Text, double? LogProbability, IReadOnlyList<TokenAlternative>? Top);

/// <summary>A token the model could have put at a position, with its natural-log probability.</summary>
public sealed record TokenAlternative(string Text, double LogProbability);

/// <param name="Reason">"stop" (a stop string or stop token) or "length" (max_new_tokens reached, or the context is full).</param>
/// <param name="PromptTokens">Tokens of the prompt.</param>
/// <param name="GeneratedTokens">Tokens the model generated (a stop token excluded).</param>
public sealed record GenerationEnd(string Reason, int PromptTokens, int GeneratedTokens);
