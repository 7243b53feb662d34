namespace SharpLM.Inference;

/// <summary>How <see cref="Generator"/> picks each next token.</summary>
public sealed record SamplingOptions
{
    /// <summary>Most tokens to generate after the prompt; generation can end sooner (end-of-text, a stop string).</summary>
    public int MaxNewTokens { get; init; } = 200;
    /// <summary>Softmax temperature; 0 means greedy (always the most likely token).</summary>
    public double Temperature { get; init; } = 0.8;
    /// <summary>Keep only the k most likely tokens; 0 disables.</summary>
    public int TopK { get; init; }
    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability reaches p; 1 disables.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>CTRL-style penalty (&gt; 1 discourages) on tokens already in the context; 1 disables.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>Generation ends before the first occurrence of any of these strings.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = Array.Empty<string>();
    /// <summary>Seed of the sampler's generator: the same seed, prompt and settings give the same text on any device.</summary>
    public ulong Seed { get; init; } = 1337;
    /// <summary>Reuse keys and values of earlier positions; produces the same tokens as recomputing everything.</summary>
    public bool UseKvCache { get; init; } = true;

    /// <summary>Checks every setting and returns the options unchanged.</summary>
    /// <exception cref="InvalidInputException">A setting is out of range; the message names its command-line option.</exception>
    public SamplingOptions Validate()
    {
        if (MaxNewTokens < 0) throw new InvalidInputException($"--max-new-tokens {MaxNewTokens}: must not be negative");
        if (Temperature < 0) throw new InvalidInputException($"--temperature {Temperature}: must not be negative");
        if (TopK < 0) throw new InvalidInputException($"--top-k {TopK}: must not be negative");
        if (TopP <= 0 || TopP > 1) throw new InvalidInputException($"--top-p {TopP}: must be in (0, 1]");
        if (RepetitionPenalty <= 0) throw new InvalidInputException($"--repetition-penalty {RepetitionPenalty}: must be positive");
        if (StopStrings.Any(string.IsNullOrEmpty)) throw new InvalidInputException("--stop: stop strings must not be empty");
        return this;
    }
}
