namespace SharpLM.Adaptation.Peft.Prefix;

/// <summary>
/// Prefix tuning's options (Li &amp; Liang 2021): P prefix positions per layer, and whether training uses the
/// paper's re-parameterisation (a P × n_embd embedding through a two-layer tanh MLP of <see cref="HiddenSize"/>
/// units to every layer's keys and values), which trains more stably than free prefix tensors. A saved adapter
/// always holds the collapsed, plain tensors (reparameterize false).
/// </summary>
public sealed record PrefixOptions
{
    /// <summary>Prefix positions P per layer; at least 1.</summary>
    public int Length { get; init; } = 10;
    /// <summary>Train through the MLP re-parameterisation (<see cref="PrefixEncoder"/>) instead of free prefix tensors.</summary>
    public bool Reparameterize { get; init; } = true;
    /// <summary>Hidden width of the re-parameterisation MLP; 0 = n_embd.</summary>
    public int HiddenSize { get; init; }

    /// <summary>Checks the options and returns them.</summary>
    /// <param name="source">Where the options came from, the prefix of the error.</param>
    /// <exception cref="InvalidInputException">A length below 1 or a negative hidden size.</exception>
    public PrefixOptions Validate(string source = "prefix options")
    {
        if (Length < 1) throw new InvalidInputException($"{source}: length must be at least 1");
        if (HiddenSize < 0) throw new InvalidInputException($"{source}: hidden_size must not be negative (0 = n_embd)");
        return this;
    }
}
