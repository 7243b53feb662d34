using System.Text.Json;
using System.Text.Json.Nodes;
using SharpLM.Modeling;
using static TorchSharp.torch;

namespace SharpLM.Checkpoints;

/// <summary>
/// How one SharpLM parameter is stored in a Hugging Face checkpoint: the tensor (or tensors) it comes from, and whether
/// they are stored transposed. SharpLM fuses Q, K and V into one projection; Llama-style checkpoints keep q_proj,
/// k_proj and v_proj apart, so that parameter is the concatenation of three tensors along its rows.
/// </summary>
/// <param name="Ours">The parameter's name in SharpLM's state dict.</param>
/// <param name="Theirs">The tensors' names in the Hugging Face checkpoint (without a base-model prefix), concatenated along dimension 0.</param>
/// <param name="Rows">With several tensors, each one's share of dimension 0 (to split the parameter on export); null for one.</param>
/// <param name="Transposed">GPT-2's Conv1D stores [in, out]; a Linear's weight is [out, in].</param>
public sealed record HfWeight(string Ours, IReadOnlyList<string> Theirs, IReadOnlyList<long>? Rows = null, bool Transposed = false)
{
    /// <summary>A parameter stored as one tensor.</summary>
    public HfWeight(string ours, string theirs, bool transposed = false) : this(ours, [theirs], null, transposed) { }
}

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

    /// <summary>Why <paramref name="config"/> cannot be written as this family (naming the field), or null when it can.</summary>
    public abstract string? Unsupported(ModelConfig config);

    /// <summary>The config.json that describes <paramref name="config"/> in this family (call only when <see cref="Unsupported"/> is null).</summary>
    public abstract JsonObject ConfigJson(ModelConfig config);

    /// <summary>The name a tensor is saved under: as <c>save_pretrained</c> saves the model with its head, the base model's tensors under <see cref="BasePrefix"/>.</summary>
    public string SavedName(string theirs) => theirs == HeadTensor ? theirs : BasePrefix + theirs;

    /// <summary>The output head's tensor: loaded when the config unties it, checked against the embedding when it is tied.</summary>
    public virtual string HeadTensor => "lm_head.weight";

    /// <summary>SharpLM's token-embedding parameter, which a tied head must equal.</summary>
    public virtual string EmbeddingParameter => "wte.weight";

    /// <summary>Tensors a checkpoint may hold that SharpLM does not load (buffers an older library version saved).</summary>
    public virtual bool Ignorable(string theirs) => false;

    /// <summary>The families SharpLM reads, by <c>model_type</c>.</summary>
    public static readonly IReadOnlyDictionary<string, HfModelFamily> Registry =
        new HfModelFamily[] { new Gpt2Family(), new LlamaFamily(), new MistralFamily(), new Qwen2Family() }.ToDictionary(f => f.ModelType, StringComparer.Ordinal);

    /// <summary>The family of <paramref name="modelType"/>.</summary>
    /// <exception cref="InvalidInputException">An unknown model_type (the message lists the known ones).</exception>
    public static HfModelFamily For(string? modelType, string path) =>
        modelType is not null && Registry.TryGetValue(modelType, out var family) ? family
            : throw new InvalidInputException($"{path}: model_type '{modelType}' is not supported (supported: {string.Join(", ", Registry.Keys)})");

    /// <summary>
    /// The family a SharpLM config is exported as: <paramref name="modelType"/> when given, else the first family that
    /// can describe it (a Llama-shaped model with a sliding window is Mistral, one with Q/K/V biases Qwen2).
    /// </summary>
    /// <exception cref="InvalidInputException">The named family cannot describe the config, or none can; the message says why, by field.</exception>
    public static HfModelFamily ForExport(ModelConfig config, string? modelType = null)
    {
        if (modelType is not null)
        {
            var family = For(modelType, "--family");
            return family.Unsupported(config) is string why ? throw new InvalidInputException($"cannot export as {modelType}: {why}") : family;
        }
        foreach (var family in Registry.Values)
            if (family.Unsupported(config) is null) return family;
        throw new InvalidInputException("no Hugging Face family describes this model: " + string.Join("; ", Registry.Values.Select(f => $"{f.ModelType}: {f.Unsupported(config)}")));
    }

    /// <summary>What every family requires of a SharpLM config: a plain decoder-only Transformer.</summary>
    protected static string? UnsupportedByAll(ModelConfig c) =>
        c.Type != "transformer" ? $"type '{c.Type}' (only transformer models have Hugging Face counterparts here)"
        : c.Architecture != "causal_decoder" ? $"architecture '{c.Architecture}' (the families are causal decoders)"
        : c.TokenShift != 0 ? $"token_shift {c.TokenShift} (no Hugging Face family mixes previous tokens' embeddings)"
        : c.NormPlacement != "pre" ? $"norm_placement '{c.NormPlacement}' (the families are pre-norm)"
        : null;

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
        return v.ValueKind == JsonValueKind.Number && double.IsFinite(v.GetDouble()) ? v.GetDouble() : throw new InvalidInputException($"{path}: {field} must be a finite number, not {v}");
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
        return new ModelConfig
        {
            VocabSize = Int(c, "vocab_size", path, 50257), BlockSize = Int(c, "n_positions", path, 1024),
            NLayer = Int(c, "n_layer", path, 12), NHead = Int(c, "n_head", path, 12), NEmbd = embd, MlpHidden = inner,
            NormEps = Number(c, "layer_norm_epsilon", path, 1e-5), Activation = activation, PositionEncoding = "learned",
            Bias = true, TieEmbeddings = Bool(c, "tie_word_embeddings", path, true), Dropout = 0,
            InitStd = Number(c, "initializer_range", path, 0.02),
        }.Validate(path);
    }

    /// <inheritdoc/>
    public override string? Unsupported(ModelConfig c) =>
        UnsupportedByAll(c)
        ?? (c.Norm != "layernorm" ? $"norm '{c.Norm}' (GPT-2 uses layernorm)"
        : !ActivationNames.ContainsValue(c.Activation) ? $"activation '{c.Activation}' (GPT-2's MLP is not gated)"
        : c.PositionEncoding != "learned" ? $"position_encoding '{c.PositionEncoding}' (GPT-2 learns its positions)"
        : !c.Bias ? "bias false (GPT-2's layers all have biases)"
        : c.KvHeads != c.NHead ? $"n_kv_head {c.NKvHead} (GPT-2 has multi-head attention)"
        : c.SlidingWindow != 0 ? $"sliding_window {c.SlidingWindow} (GPT-2 attends to the whole context)"
        : null);

    /// <inheritdoc/>
    public override JsonObject ConfigJson(ModelConfig c) => new()
    {
        ["model_type"] = ModelType, ["architectures"] = new JsonArray("GPT2LMHeadModel"),
        ["vocab_size"] = c.VocabSize, ["n_positions"] = c.BlockSize, ["n_ctx"] = c.BlockSize, ["n_embd"] = c.NEmbd, ["n_layer"] = c.NLayer,
        ["n_head"] = c.NHead, ["n_inner"] = Modeling.FeedForward.HiddenSize(c),
        // The first name that maps to SharpLM's activation: gelu_tanh is written as GPT-2's own "gelu_new".
        ["activation_function"] = ActivationNames.First(a => a.Value == c.Activation).Key,
        ["layer_norm_epsilon"] = c.NormEps, ["initializer_range"] = c.InitStd, ["tie_word_embeddings"] = c.TieEmbeddings,
        ["resid_pdrop"] = c.Dropout, ["embd_pdrop"] = c.Dropout, ["attn_pdrop"] = 0.0, ["scale_attn_weights"] = true,
    };

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
                yield return new($"h.{i}.{linear}.weight", $"h.{i}.{linear}.weight", transposed: true);
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

/// <summary>
/// Llama 2 and 3 (<c>LlamaForCausalLM</c>): RoPE in the rotate-half layout SharpLM uses (Hugging Face's checkpoints are
/// already permuted to it), pre-RMSNorm blocks, a SwiGLU MLP (gate_proj, up_proj, down_proj), grouped-query attention,
/// no biases, an untied head unless tie_word_embeddings (Llama 3.2). rope_scaling of type llama3 or linear is
/// supported. Mistral and Qwen2 are this family with a sliding window or Q/K/V biases.
/// </summary>
public class LlamaFamily : HfModelFamily
{
    /// <inheritdoc/>
    public override string ModelType => "llama";
    /// <inheritdoc/>
    public override string BasePrefix => "model.";

    /// <summary>The class name config.json's "architectures" lists.</summary>
    protected virtual string Architecture => "LlamaForCausalLM";

    /// <inheritdoc/>
    public override ModelConfig Config(JsonElement c, string path)
    {
        string act = String(c, "hidden_act", path, "silu");
        if (act != "silu") throw new InvalidInputException($"{path}: hidden_act '{act}' is not supported (supported: silu)");
        int hidden = Int(c, "hidden_size", path), heads = Int(c, "num_attention_heads", path);
        if (heads > 0 && hidden % heads == 0 && Int(c, "head_dim", path, hidden / heads) != hidden / heads)
            throw new InvalidInputException($"{path}: head_dim {Int(c, "head_dim", path)} is not supported (SharpLM's heads are hidden_size / num_attention_heads = {hidden / heads} wide)");
        if (Number(c, "attention_dropout", path, 0) != 0) throw new InvalidInputException($"{path}: attention_dropout {Number(c, "attention_dropout", path, 0)} is not supported (SharpLM has no dropout on attention probabilities)");
        RequireBool(c, "mlp_bias", path, false);
        var config = new ModelConfig
        {
            VocabSize = Int(c, "vocab_size", path), BlockSize = Int(c, "max_position_embeddings", path), NLayer = Int(c, "num_hidden_layers", path),
            NHead = heads, NKvHead = Int(c, "num_key_value_heads", path, heads), NEmbd = hidden, MlpHidden = Int(c, "intermediate_size", path),
            Norm = "rmsnorm", NormPlacement = "pre", NormEps = Number(c, "rms_norm_eps", path, 1e-6), Activation = "swiglu",
            PositionEncoding = "rope", RopeBase = Number(c, "rope_theta", path, 10000), RopeScaling = ReadRopeScaling(c, path),
            Bias = false, TieEmbeddings = Bool(c, "tie_word_embeddings", path, false), Dropout = 0,
            InitStd = Number(c, "initializer_range", path, 0.02),
        };
        return Specialise(config, c, path).Validate(path);
    }

    /// <summary>The family's own fields on top of Llama's (attention_bias for Llama itself).</summary>
    protected virtual ModelConfig Specialise(ModelConfig config, JsonElement c, string path)
    {
        RequireBool(c, "attention_bias", path, false);
        return config;
    }

    static RopeScaling? ReadRopeScaling(JsonElement c, string path)
    {
        if (!c.TryGetProperty("rope_scaling", out var r) || r.ValueKind == JsonValueKind.Null) return null;
        if (r.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{path}: rope_scaling must be an object or null, not {r}");
        // transformers accepts the type under "rope_type" or the older "type".
        string type = String(r, "rope_type", path, String(r, "type", path, "default"));
        if (type == "default") return null;
        if (type is not ("llama3" or "linear"))
            throw new InvalidInputException($"{path}: rope_scaling.rope_type '{type}' is not supported (supported: default, linear, llama3)");
        if (!r.TryGetProperty("factor", out _)) throw new InvalidInputException($"{path}: rope_scaling.factor is missing");
        return new RopeScaling
        {
            Type = type, Factor = Number(r, "factor", path, 1),
            LowFreqFactor = Number(r, "low_freq_factor", path, 1), HighFreqFactor = Number(r, "high_freq_factor", path, 4),
            OriginalContext = Int(r, "original_max_position_embeddings", path, 8192),
        };
    }

    /// <inheritdoc/>
    public override string? Unsupported(ModelConfig c) =>
        UnsupportedByAll(c)
        ?? (c.Norm != "rmsnorm" ? $"norm '{c.Norm}' ({ModelType} uses rmsnorm)"
        : c.Activation != "swiglu" ? $"activation '{c.Activation}' ({ModelType}'s MLP is SwiGLU)"
        : c.PositionEncoding != "rope" ? $"position_encoding '{c.PositionEncoding}' ({ModelType} uses rope)"
        : c.Bias ? $"bias true ({ModelType}'s layers have no biases)"
        : SpecialUnsupported(c));

    /// <summary>What this family in particular cannot describe (Llama: a sliding window, Q/K/V biases).</summary>
    protected virtual string? SpecialUnsupported(ModelConfig c) =>
        c.SlidingWindow != 0 ? $"sliding_window {c.SlidingWindow} (Llama attends to the whole context; Mistral has a window)"
        : c.QkvBias ? "qkv_bias true (Llama has none; Qwen2 has them)"
        : null;

    /// <inheritdoc/>
    public override JsonObject ConfigJson(ModelConfig c)
    {
        var json = new JsonObject
        {
            ["model_type"] = ModelType, ["architectures"] = new JsonArray(Architecture),
            ["vocab_size"] = c.VocabSize, ["max_position_embeddings"] = c.BlockSize, ["hidden_size"] = c.NEmbd,
            ["intermediate_size"] = Modeling.FeedForward.HiddenSize(c), ["num_hidden_layers"] = c.NLayer,
            ["num_attention_heads"] = c.NHead, ["num_key_value_heads"] = c.KvHeads, ["head_dim"] = c.HeadDim, ["hidden_act"] = "silu",
            ["rms_norm_eps"] = c.NormEps, ["rope_theta"] = c.RopeBase, ["tie_word_embeddings"] = c.TieEmbeddings,
            ["initializer_range"] = c.InitStd, ["attention_dropout"] = 0.0,
            ["rope_scaling"] = c.RopeScaling is not { } r ? null : r.Type == "linear"
                ? new JsonObject { ["rope_type"] = "linear", ["factor"] = r.Factor }
                : new JsonObject
                {
                    ["rope_type"] = "llama3", ["factor"] = r.Factor, ["low_freq_factor"] = r.LowFreqFactor,
                    ["high_freq_factor"] = r.HighFreqFactor, ["original_max_position_embeddings"] = r.OriginalContext,
                },
        };
        SpecialConfigJson(c, json);
        return json;
    }

    /// <summary>Adds the family's own fields to an exported config.json.</summary>
    protected virtual void SpecialConfigJson(ModelConfig c, JsonObject json)
    {
        json["attention_bias"] = false;
        json["mlp_bias"] = false;
    }

    /// <inheritdoc/>
    public override string EmbeddingParameter => "wte.weight";

    /// <inheritdoc/>
    public override IEnumerable<HfWeight> Weights(ModelConfig config)
    {
        yield return new("wte.weight", "embed_tokens.weight");
        long q = config.NHead * config.HeadDim, kv = config.KvHeads * config.HeadDim;
        for (int i = 0; i < config.NLayer; i++)
        {
            string layer = $"layers.{i}.";
            yield return new($"h.{i}.ln_1.weight", layer + "input_layernorm.weight");
            string[] qkv = ["q_proj", "k_proj", "v_proj"];
            yield return new($"h.{i}.attn.c_attn.weight", qkv.Select(p => $"{layer}self_attn.{p}.weight").ToArray(), [q, kv, kv]);
            if (config.QkvBias) yield return new($"h.{i}.attn.c_attn.bias", qkv.Select(p => $"{layer}self_attn.{p}.bias").ToArray(), [q, kv, kv]);
            yield return new($"h.{i}.attn.c_proj.weight", layer + "self_attn.o_proj.weight");
            yield return new($"h.{i}.ln_2.weight", layer + "post_attention_layernorm.weight");
            yield return new($"h.{i}.mlp.c_gate.weight", layer + "mlp.gate_proj.weight");
            yield return new($"h.{i}.mlp.c_fc.weight", layer + "mlp.up_proj.weight");
            yield return new($"h.{i}.mlp.c_proj.weight", layer + "mlp.down_proj.weight");
        }
        yield return new("ln_f.weight", "norm.weight");
        if (!config.TieEmbeddings) yield return new("lm_head.weight", HeadTensor);
    }

    /// <inheritdoc/>
    public override bool Ignorable(string theirs) => theirs.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);
}

/// <summary>Mistral (<c>MistralForCausalLM</c>): Llama with sliding-window attention (each position sees the last sliding_window).</summary>
public sealed class MistralFamily : LlamaFamily
{
    /// <inheritdoc/>
    public override string ModelType => "mistral";
    /// <inheritdoc/>
    protected override string Architecture => "MistralForCausalLM";

    /// <inheritdoc/>
    protected override ModelConfig Specialise(ModelConfig config, JsonElement c, string path) =>
        config with { SlidingWindow = Int(c, "sliding_window", path, 0) };

    /// <inheritdoc/>
    protected override string? SpecialUnsupported(ModelConfig c) => c.QkvBias ? "qkv_bias true (Mistral has none; Qwen2 has them)" : null;

    /// <inheritdoc/>
    protected override void SpecialConfigJson(ModelConfig c, JsonObject json) => json["sliding_window"] = c.SlidingWindow == 0 ? null : c.SlidingWindow;
}

/// <summary>Qwen2 (<c>Qwen2ForCausalLM</c>): Llama with biases on q_proj, k_proj and v_proj (and on nothing else).</summary>
public sealed class Qwen2Family : LlamaFamily
{
    /// <inheritdoc/>
    public override string ModelType => "qwen2";
    /// <inheritdoc/>
    protected override string Architecture => "Qwen2ForCausalLM";

    /// <inheritdoc/>
    protected override ModelConfig Specialise(ModelConfig config, JsonElement c, string path)
    {
        // Qwen2 applies its window only to layers from max_window_layers on: a per-layer pattern SharpLM's one
        // sliding_window cannot express.
        RequireBool(c, "use_sliding_window", path, false);
        return config with { QkvBias = true };
    }

    /// <inheritdoc/>
    protected override string? SpecialUnsupported(ModelConfig c) =>
        !c.QkvBias ? "qkv_bias false (Qwen2's q, k and v projections have biases)"
        : c.SlidingWindow != 0 ? $"sliding_window {c.SlidingWindow} (exported Qwen2 models attend to the whole context)"
        : null;

    /// <inheritdoc/>
    protected override void SpecialConfigJson(ModelConfig c, JsonObject json)
    {
        json["use_sliding_window"] = false;
        json["sliding_window"] = null;
        json["max_window_layers"] = c.NLayer;
    }
}
