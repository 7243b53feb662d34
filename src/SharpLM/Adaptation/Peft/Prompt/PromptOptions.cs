namespace SharpLM.Adaptation.Peft.Prompt;

/// <summary>
/// Prompt tuning's options (Lester et al. 2021): P soft-prompt embeddings, initialised from the embeddings of P
/// vocabulary tokens drawn at random ("vocab", the paper's "sampled vocab" initialisation, with libtorch's RNG) or
/// from the embeddings of given token ids ("text": the ids of an instruction such as "Classify the sentiment:",
/// repeated or cut to P).
/// </summary>
public sealed record PromptOptions
{
    /// <summary>Soft-prompt positions P; at least 1, and fewer than the model's block_size.</summary>
    public int Length { get; init; } = 20;
    /// <summary>"vocab" or "text".</summary>
    public string Init { get; init; } = "vocab";
    /// <summary>Token ids for Init "text".</summary>
    public IReadOnlyList<int>? InitTokenIds { get; init; }

    /// <summary>Checks the options and returns them (the token ids and length are checked against a model when
    /// applied).</summary>
    /// <param name="source">Where the options came from, the prefix of the error.</param>
    /// <exception cref="InvalidInputException">A length below 1, an unknown init, or "text" without token ids.</exception>
    public PromptOptions Validate(string source = "prompt options")
    {
        if (Length < 1) throw new InvalidInputException($"{source}: length must be at least 1");
        if (Init is not ("vocab" or "text")) throw new InvalidInputException($"{source}: init '{Init}' is not supported (supported: vocab, text)");
        if (Init == "text" && (InitTokenIds is null || InitTokenIds.Count == 0))
            throw new InvalidInputException($"{source}: init 'text' needs init_token_ids (the ids of the initialising text)");
        return this;
    }
}
