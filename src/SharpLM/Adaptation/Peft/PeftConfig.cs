using SharpLM.Adaptation.Peft.Adapter;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Adaptation.Peft.Prefix;
using SharpLM.Adaptation.Peft.Prompt;
using SharpLM.Modeling;

namespace SharpLM.Adaptation.Peft;

/// <summary>
/// adapter_config.json: which method, its options, the base it was trained on (the SHA-256 of its weights, see
/// <see cref="BaseWeights"/>, and its config) and the weight file with its own SHA-256. Exactly one of the option
/// blocks is set, the one <see cref="Method"/> names.
/// </summary>
public sealed record PeftConfig
{
    public int FormatVersion { get; init; } = 1;
    /// <summary>"lora", "adapter", "prefix" or "prompt".</summary>
    public required string Method { get; init; }
    public required string BaseSha256 { get; init; }
    /// <summary>Where the base came from when it was known (a checkpoint directory); for messages only.</summary>
    public string? BaseCheckpoint { get; init; }
    public required ModelConfig BaseModel { get; init; }
    public LoraOptions? Lora { get; init; }
    public AdapterOptions? Adapter { get; init; }
    public PrefixOptions? Prefix { get; init; }
    public PromptOptions? Prompt { get; init; }
    public required string WeightsFile { get; init; }
    public required string WeightsSha256 { get; init; }
    /// <summary>Values in the weight file (prefix tuning saves its collapsed prefix, not the re-parameterisation).</summary>
    public long TrainableParameters { get; init; }
    public DateTime SavedAtUtc { get; init; }
}
