using System.Text.Json;
using SharpLM.Modeling;
using static TorchSharp.torch;

namespace SharpLM.Checkpoints;

/// <summary>How one SharpLM parameter is stored in a Hugging Face checkpoint: the tensor's name there and whether it is stored transposed.</summary>
/// <param name="Ours">The parameter's name in SharpLM's state dict.</param>
/// <param name="Theirs">The tensor's name in the Hugging Face checkpoint (without a base-model prefix).</param>
/// <param name="Transposed">GPT-2's Conv1D stores [in, out]; a Linear's weight is [out, in].</param>
public sealed record HfWeight(string Ours, string Theirs, bool Transposed = false);

/// <summary>
/// One Hugging Face model family (<c>config.json</c>'s <c>model_type</c>): its config mapped onto
/// <see cref="ModelConfig"/> fields, and SharpLM's parameter names mapped onto its tensor names. A field value
/// SharpLM does not implement is refused by name, never ignored.
/// </summary>
public abstract class HfModelFamily
{
    /// <summary>The <c>model_type</c> this family reads.</summary>
    public abstract string ModelType { get; }

    /// <summary>The prefix of the base model's tensors in a checkpoint with a head ("transformer." for GPT-2), also accepted without it.</summary>
    public abstract string BasePrefix { get; }

    /// <summary>The model config for <paramref name="config"/> (the parsed config.json); errors name <paramref name="path"/> and the field.</summary>
    public abstract ModelConfig Config(JsonElement config, string path);

    /// <summary>Where each of SharpLM's parameters for <paramref name="config"/> is stored.</summary>
    public abstract IEnumerable<HfWeight> Weights(ModelConfig config);

    /// <summary>The output head's tensor: loaded when the config unties it, checked against the embedding when it is tied.</summary>
    public virtual string HeadTensor => "lm_head.weight";

    /// <summary>SharpLM's token-embedding parameter, which a tied head must equal.</summary>
    public virtual string EmbeddingParameter => "wte.weight";

    /// <summary>Tensors a checkpoint may hold that SharpLM does not load (buffers an older library version saved).</summary>
    public virtual bool Ignorable(string theirs) => false;

    /// <summary>The families SharpLM reads, by <c>model_type</c>.</summary>
    public static readonly IReadOnlyDictionary<string, HfModelFamily> Registry =
        new HfModelFamily[] { new Gpt2Family() }.ToDictionary(f => f.ModelType, StringComparer.Ordinal);

    /// <summary>The family of <paramref name="modelType"/>.</summary>
    /// <exception cref="InvalidInputException">An unknown model_type (the message lists the known ones).</exception>
    public static HfModelFamily For(string? modelType, string path) =>
        modelType is not null && Registry.TryGetValue(modelType, out var family) ? family
            : throw new InvalidInputException($"{path}: model_type '{modelType}' is not supported (supported: {string.Join(", ", Registry.Keys)})");

    // ---- config.json helpers: every read names the field on failure

    /// <summary>An integer field, or <paramref name="fallback"/> when absent (null fallback: required).</summary>
    protected static int Int(JsonElement config, string field, string path, int? fallback = null)
    {
        if (!config.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null)
            return fallback ?? throw new InvalidInputException($"{path}: {field} is missing");
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) && i >= 0 ? i : throw new InvalidInputException($"{path}: {field} must be a non-negative integer, not {v}");
    }

    /// <summary>A number field, or <paramref name="fallback"/> when absent.</summary>
    protected static double Number(JsonElement config, string field, string path, double fallback)
    {
        if (!config.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        return v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new InvalidInputException($"{path}: {field} must be a number, not {v}");
    }

    /// <summary>A boolean field, or <paramref name="fallback"/> when absent.</summary>
    protected static bool Bool(JsonElement config, string field, string path, bool fallback)
    {
        if (!config.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        return v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw new InvalidInputException($"{path}: {field} must be true or false, not {v}");
    }

    /// <summary>A string field, or <paramref name="fallback"/> when absent.</summary>
    protected static string String(JsonElement config, string field, string path, string fallback)
    {
        if (!config.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new InvalidInputException($"{path}: {field} must be a string, not {v}");
    }

    /// <summary>Refuses <paramref name="field"/> when present with a value other than <paramref name="supported"/>.</summary>
    protected static void RequireBool(JsonElement config, string field, string path, bool supported)
    {
        if (Bool(config, field, path, supported) != supported)
            throw new InvalidInputException($"{path}: {field} {(supported ? "false" : "true")} is not supported (SharpLM implements {(supported ? "true" : "false")})");
    }
}

/// <summary>
/// GPT-2 (<c>GPT2LMHeadModel</c>): learned positions, pre-LayerNorm blocks, the tanh GELU ("gelu_new"), biases,
/// tied output head. Its attention and MLP weights are Conv1D, stored [in, out]. Its fused c_attn holds q, k, v in
/// that order, as SharpLM's does.
/// </summary>
public sealed class Gpt2Family : HfModelFamily
{
    /// <inheritdoc/>
    public override string ModelType => "gpt2";
    /// <inheritdoc/>
    public override string BasePrefix => "transformer.";

    static readonly Dictionary<string, string> ActivationNames = new(StringComparer.Ordinal)
    {
        ["gelu_new"] = "gelu_tanh", ["gelu_pytorch_tanh"] = "gelu_tanh", ["gelu"] = "gelu", ["relu"] = "relu", ["silu"] = "silu", ["swish"] = "swish",
    };

    /// <inheritdoc/>
    public override ModelConfig Config(JsonElement c, string path)
    {
        string act = String(c, "activation_function", path, "gelu_new");
        if (!ActivationNames.TryGetValue(act, out string? activation))
            throw new InvalidInputException($"{path}: activation_function '{act}' is not supported (supported: {string.Join(", ", ActivationNames.Keys)})");
        RequireBool(c, "scale_attn_weights", path, true);
        RequireBool(c, "scale_attn_by_inverse_layer_idx", path, false);
        RequireBool(c, "add_cross_attention", path, false);
        int embd = Int(c, "n_embd", path, 768), inner = Int(c, "n_inner", path, 4 * embd);
        if (inner % embd != 0) throw new InvalidInputException($"{path}: n_inner {inner} must be a multiple of n_embd {embd}");
        return new ModelConfig
        {
            VocabSize = Int(c, "vocab_size", path, 50257), BlockSize = Int(c, "n_positions", path, 1024),
            NLayer = Int(c, "n_layer", path, 12), NHead = Int(c, "n_head", path, 12), NEmbd = embd, MlpRatio = inner / embd,
            NormEps = Number(c, "layer_norm_epsilon", path, 1e-5), Activation = activation, PositionEncoding = "learned",
            Bias = true, TieEmbeddings = Bool(c, "tie_word_embeddings", path, true), Dropout = 0,
            InitStd = Number(c, "initializer_range", path, 0.02),
        }.Validate(path);
    }

    /// <inheritdoc/>
    public override IEnumerable<HfWeight> Weights(ModelConfig config)
    {
        yield return new("wte.weight", "wte.weight");
        yield return new("wpe.weight", "wpe.weight");
        for (int i = 0; i < config.NLayer; i++)
        {
            foreach (string norm in new[] { "ln_1", "ln_2" })
                foreach (string p in new[] { "weight", "bias" }) yield return new($"h.{i}.{norm}.{p}", $"h.{i}.{norm}.{p}");
            foreach (string linear in new[] { "attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj" })
            {
                yield return new($"h.{i}.{linear}.weight", $"h.{i}.{linear}.weight", Transposed: true);
                yield return new($"h.{i}.{linear}.bias", $"h.{i}.{linear}.bias");
            }
        }
        yield return new("ln_f.weight", "ln_f.weight");
        yield return new("ln_f.bias", "ln_f.bias");
        if (!config.TieEmbeddings) yield return new("lm_head.weight", HeadTensor);
    }

    /// <inheritdoc/>
    public override bool Ignorable(string theirs) =>
        theirs.EndsWith(".attn.bias", StringComparison.Ordinal) || theirs.EndsWith(".attn.masked_bias", StringComparison.Ordinal);
}
