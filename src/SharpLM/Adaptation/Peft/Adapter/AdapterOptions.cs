namespace SharpLM.Adaptation.Peft.Adapter;

/// <summary>
/// Adapter tuning's options (Houlsby et al. 2019): the bottleneck width m of each adapter (n_embd → m → n_embd),
/// its nonlinearity, and the standard deviation of the down-projection's initialisation (the up-projection starts
/// at zero, so every adapter starts as the identity).
/// </summary>
public sealed record AdapterOptions
{
    /// <summary>The bottleneck width m: each adapter projects n_embd down to m and back; at least 1.</summary>
    public int BottleneckSize { get; init; } = 16;
    /// <summary>"gelu", "relu", "swish" / "silu".</summary>
    public string Activation { get; init; } = "gelu";
    /// <summary>Standard deviation of the normal initialisation of the down-projection's weights; not negative.</summary>
    public double InitStd { get; init; } = 0.02;

    /// <summary>Checks the options and returns them.</summary>
    /// <param name="source">Where the options came from, the prefix of the error.</param>
    /// <exception cref="InvalidInputException">A width below 1, an unknown activation or a negative init_std.</exception>
    public AdapterOptions Validate(string source = "adapter options")
    {
        if (BottleneckSize < 1) throw new InvalidInputException($"{source}: bottleneck_size must be at least 1");
        if (Activation is not ("gelu" or "relu" or "swish" or "silu"))
            throw new InvalidInputException($"{source}: activation '{Activation}' is not supported (supported: gelu, relu, swish, silu)");
        if (!(InitStd >= 0)) throw new InvalidInputException($"{source}: init_std must not be negative");
        return this;
    }
}
