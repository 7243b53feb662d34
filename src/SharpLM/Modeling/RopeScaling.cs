namespace SharpLM.Modeling;

/// <summary>
/// How rotary frequencies are stretched so a model reaches beyond the context it was pre-trained on (the
/// <c>rope_scaling</c> of a Hugging Face config). "linear" (position interpolation, Chen et al. 2023) divides every
/// frequency by <see cref="Factor"/>. "llama3" (Llama 3.1) leaves the fast-rotating channels alone, whose wavelength is
/// far below the original context and which encode local order, divides the slow ones (wavelength above
/// original_context / low_freq_factor) by the factor, and blends linearly in between.
/// </summary>
public sealed record RopeScaling
{
    /// <summary>"linear" or "llama3".</summary>
    public string Type { get; init; } = "llama3";
    /// <summary>How much longer the new context is than the original one.</summary>
    public double Factor { get; init; } = 8;
    /// <summary>llama3: channels with wavelength above original_context / low_freq_factor are scaled fully.</summary>
    public double LowFreqFactor { get; init; } = 1;
    /// <summary>llama3: channels with wavelength below original_context / high_freq_factor are not scaled.</summary>
    public double HighFreqFactor { get; init; } = 4;
    /// <summary>llama3: the context length of pre-training (Hugging Face's original_max_position_embeddings).</summary>
    public int OriginalContext { get; init; } = 8192;

    static readonly string[] Types = { "linear", "llama3" };

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first bad field.</summary>
    public void Validate(string source)
    {
        if (!Types.Contains(Type)) throw new InvalidInputException($"{source}: rope_scaling.type '{Type}' is not supported (supported: {string.Join(", ", Types)})");
        if (!(Factor >= 1)) throw new InvalidInputException($"{source}: rope_scaling.factor must be at least 1, not {Factor}");
        if (Type != "llama3") return;
        if (!(LowFreqFactor > 0 && HighFreqFactor > LowFreqFactor))
            throw new InvalidInputException($"{source}: rope_scaling needs 0 < low_freq_factor < high_freq_factor (got {LowFreqFactor}, {HighFreqFactor})");
        if (OriginalContext <= 0) throw new InvalidInputException($"{source}: rope_scaling.original_context must be positive");
    }

    /// <summary>The scaled inverse frequency of one channel pair, as transformers' <c>_compute_llama3_parameters</c> computes it.</summary>
    public double Scale(double invFreq)
    {
        if (Type == "linear") return invFreq / Factor;
        double lowWavelen = OriginalContext / LowFreqFactor, highWavelen = OriginalContext / HighFreqFactor;
        double wavelen = 2 * Math.PI / invFreq;
        if (wavelen < highWavelen) return invFreq;
        if (wavelen > lowWavelen) return invFreq / Factor;
        double smooth = (OriginalContext / wavelen - LowFreqFactor) / (HighFreqFactor - LowFreqFactor);
        return (1 - smooth) * invFreq / Factor + smooth * invFreq;
    }
}
