using System.Text.Json.Serialization;

namespace SharpLM.Adaptation.Peft.Lora;

/// <summary>
/// LoRA's options (Hu et al. 2021): rank r, scale alpha/r, dropout on the adapter's input, and which Linear
/// layers it adapts (<see cref="LoraTargets"/> describes the patterns). The defaults adapt the fused Q/K/V
/// projection and the attention output, r = 8, alpha = 16.
/// </summary>
public sealed record LoraOptions
{
    /// <summary>Rank r of the update: A is r × in, B is rows × r; at least 1.</summary>
    public int Rank { get; init; } = 8;
    /// <summary>The update is scaled by alpha / r; positive.</summary>
    public double Alpha { get; init; } = 16;
    /// <summary>Dropout probability on the adapter's input, in [0, 1); 0 (the default) for none.</summary>
    public double Dropout { get; init; }
    /// <summary>
    /// LoRA+ (Hayou et al. 2024; PEFT's loraplus_lr_ratio): B's learning rate is this multiple of A's. With one rate
    /// for both, B — which starts at zero and carries the update out — learns too slowly when the width is large
    /// against r; the paper recommends 16. 1 is plain LoRA.
    /// </summary>
    public double LoraPlusLrRatio { get; init; } = 1;
    /// <summary>Module-path patterns; see <see cref="LoraTargets"/>.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = new[] { "attn.c_attn", "attn.c_proj" };

    /// <summary>alpha / r: the update B·A is scaled by it, so changing r does not change the effective learning rate.</summary>
    [JsonIgnore] public double Scale => Alpha / Rank;

    /// <summary>Checks the options and returns them (the target patterns are checked against a model when applied).</summary>
    /// <param name="source">Where the options came from, the prefix of the error.</param>
    /// <exception cref="InvalidInputException">A value out of range, or no target pattern.</exception>
    public LoraOptions Validate(string source = "lora options")
    {
        if (Rank < 1) throw new InvalidInputException($"{source}: rank must be at least 1");
        if (!(Alpha > 0)) throw new InvalidInputException($"{source}: alpha must be positive");
        if (Dropout < 0 || Dropout >= 1) throw new InvalidInputException($"{source}: dropout must be in [0, 1)");
        if (!(LoraPlusLrRatio > 0)) throw new InvalidInputException($"{source}: loraplus_lr_ratio must be positive");
        if (TargetModules.Count == 0) throw new InvalidInputException($"{source}: target_modules must name at least one module");
        return this;
    }
}
