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
    /// <summary>Version of the adapter directory layout; only 1 is read.</summary>
    public int FormatVersion { get; init; } = 1;
    /// <summary>The method's name in <see cref="PeftMethods"/>: "lora", "adapter", "prefix" or "prompt".</summary>
    public required string Method { get; init; }
    /// <summary>SHA-256 (hex) of the base weights the adapter was trained on (<see cref="BaseWeights"/>).</summary>
    public required string BaseSha256 { get; init; }
    /// <summary>Where the base came from when it was known (a checkpoint directory); for messages only.</summary>
    public string? BaseCheckpoint { get; init; }
    /// <summary>The base's model config; loading checks it against the given base (dropout aside).</summary>
    public required ModelConfig BaseModel { get; init; }
    /// <summary>LoRA's options, when <see cref="Method"/> is "lora".</summary>
    public LoraOptions? Lora { get; init; }
    /// <summary>The bottleneck adapter's options, when <see cref="Method"/> is "adapter".</summary>
    public AdapterOptions? Adapter { get; init; }
    /// <summary>Prefix tuning's options, when <see cref="Method"/> is "prefix".</summary>
    public PrefixOptions? Prefix { get; init; }
    /// <summary>Prompt tuning's options, when <see cref="Method"/> is "prompt".</summary>
    public PromptOptions? Prompt { get; init; }
    /// <summary>The weight file's name, relative to the adapter directory.</summary>
    public required string WeightsFile { get; init; }
    /// <summary>SHA-256 (lowercase hex) of the weight file, checked on load.</summary>
    public required string WeightsSha256 { get; init; }
    /// <summary>Values in the weight file (prefix tuning saves its collapsed prefix, not the re-parameterisation).</summary>
    public long TrainableParameters { get; init; }
    /// <summary>When the adapter was saved, in UTC.</summary>
    public DateTime SavedAtUtc { get; init; }
}
