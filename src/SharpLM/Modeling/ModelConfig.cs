using System.Text.Json.Serialization;

namespace SharpLM.Modeling;

/// <summary>
/// One record describes every architecture variant by its fields (litgpt-style), so a new variant is a new field
/// value, not a new model class. It is serialised with every checkpoint (config.json) and validated on load.
/// The defaults are GPT-2: learned positions, pre-LayerNorm blocks, a GELU MLP and multi-head attention; a config
/// written before a field existed therefore keeps its meaning. Other components (RMSNorm, DeepNorm, SwiGLU, RoPE,
/// ALiBi, T5 relative bias, grouped-query and sliding-window attention, token shift) are chosen by <see cref="Norm"/>,
/// <see cref="NormPlacement"/>, <see cref="Activation"/>, <see cref="PositionEncoding"/>, <see cref="NKvHead"/>,
/// <see cref="SlidingWindow"/> and <see cref="TokenShift"/>.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>
    /// The model's generation: "transformer" (the default), the recurrent "lstm" / "gru" (n_layer layers of
    /// n_embd units; attention fields are ignored), or "ngram" (a count-based Kneser-Ney model of order
    /// ngram_order, trained by counting rather than by gradient descent).
    /// </summary>
    public string Type { get; init; } = "transformer";
    /// <summary>Truncated back-propagation through time for lstm / gru: gradient chunk length in tokens; 0 = the whole window.</summary>
    public int Tbptt { get; init; }
    /// <summary>Order of an ngram model (3 = trigram).</summary>
    public int NgramOrder { get; init; } = 5;
    /// <summary>
    /// The attention pattern: "causal_decoder" (GPT: every position sees only earlier ones), "prefix_decoder"
    /// (decoder-only, but the first p positions see each other bidirectionally; trained with the prefix-LM
    /// objective, UniLM / GLM / U-PaLM) or "encoder_decoder" (T5: a bidirectional encoder and a causal decoder
    /// with cross-attention; trained with span corruption).
    /// </summary>
    public string Architecture { get; init; } = "causal_decoder";
    /// <summary>Encoder layers of an encoder_decoder (its decoder has n_layer); 0 = n_layer.</summary>
    public int NEncoderLayer { get; init; }
    /// <summary>Span corruption (encoder_decoder): fraction of each window's tokens that are masked out (T5: 0.15).</summary>
    public double NoiseDensity { get; init; } = 0.15;
    /// <summary>Span corruption (encoder_decoder): mean length of a masked span, in tokens (T5: 3).</summary>
    public double MeanNoiseSpanLength { get; init; } = 3.0;
    /// <summary>
    /// Sentinel ids of an encoder_decoder, appended after the vocabulary (ids vocab_size …); one marks each
    /// masked span. 0 = as many as a block_size window can need; an explicit value must be at least that.
    /// </summary>
    public int SentinelTokens { get; init; }
    /// <summary>Number of token ids the embedding and output head cover; 65 by default (Shakespeare's characters).</summary>
    public int VocabSize { get; init; } = 65;
    /// <summary>Maximum context length (number of positions).</summary>
    public int BlockSize { get; init; } = 64;
    /// <summary>Number of Transformer blocks (decoder blocks of an encoder_decoder), or stacked recurrent layers.</summary>
    public int NLayer { get; init; } = 4;
    /// <summary>Number of attention (query) heads; must divide <see cref="NEmbd"/>.</summary>
    public int NHead { get; init; } = 4;
    /// <summary>
    /// Key/value heads; 0 means equal to <see cref="NHead"/> (multi-head attention), 1 is multi-query attention
    /// (Shazeer 2019), anything between that divides n_head is grouped-query attention (Ainslie et al. 2023).
    /// </summary>
    public int NKvHead { get; init; }
    /// <summary>Width of the embeddings and the residual stream (the hidden size of an lstm / gru).</summary>
    public int NEmbd { get; init; } = 128;
    /// <summary>Hidden width of the MLP as a multiple of <see cref="NEmbd"/> (GLU variants use 2/3 of it, see <see cref="GluMlp.RatioHiddenSize"/>; <see cref="MlpHidden"/> overrides it).</summary>
    public int MlpRatio { get; init; } = 4;
    /// <summary>Hidden width of the MLP in units, overriding <see cref="MlpRatio"/>: imported checkpoints have widths no
    /// ratio gives (Llama-3-8B: 14,336 for 4,096). 0 (the default) = derived from mlp_ratio.</summary>
    public int MlpHidden { get; init; }
    /// <summary>Dropout probability in [0, 1), applied only while training; 0 (the default) turns dropout off.</summary>
    public double Dropout { get; init; }
    /// <summary>Bias in Linear layers and LayerNorms (RMSNorm never has one).</summary>
    public bool Bias { get; init; } = true;
    /// <summary>A bias on the query/key/value projection only, with <see cref="Bias"/> false (Qwen2: the output
    /// projection, the MLP and the norms have none).</summary>
    public bool QkvBias { get; init; }
    /// <summary>Output head shares the token-embedding matrix.</summary>
    public bool TieEmbeddings { get; init; } = true;
    /// <summary>"layernorm", "rmsnorm" or "deepnorm" (post-LN with scaled residuals; needs norm_placement "post").</summary>
    public string Norm { get; init; } = "layernorm";
    /// <summary>"pre" (GPT-2), "post" (original Transformer) or "sandwich" (norm before and after each sublayer).</summary>
    public string NormPlacement { get; init; } = "pre";
    /// <summary>Epsilon added to the variance (or mean square) inside LayerNorm / RMSNorm for numerical stability.</summary>
    public double NormEps { get; init; } = 1e-5;
    /// <summary>"gelu" (exact erf form, as nn.GELU), "gelu_tanh" (the tanh approximation, GPT-2's "gelu_new"), "relu",
    /// "swish" / "silu", or the gated "swiglu" / "geglu".</summary>
    public string Activation { get; init; } = "gelu";
    /// <summary>"learned" or "sinusoidal" absolute embeddings, or "rope", "alibi", "t5" (no absolute embedding).</summary>
    public string PositionEncoding { get; init; } = "learned";
    /// <summary>Base of the rotary frequencies (position_encoding "rope").</summary>
    public double RopeBase { get; init; } = 10000;
    /// <summary>Rotary frequencies stretched for contexts longer than pre-training's (<see cref="Modeling.RopeScaling"/>);
    /// null (the default) = plain RoPE.</summary>
    public RopeScaling? RopeScaling { get; init; }
    /// <summary>Number of T5 relative-position buckets (position_encoding "t5").</summary>
    public int RelativeBuckets { get; init; } = 32;
    /// <summary>Distance beyond which T5 relative positions share the last bucket (position_encoding "t5").</summary>
    public int RelativeMaxDistance { get; init; } = 128;
    /// <summary>Local attention: each query sees at most this many positions, itself included; 0 = unlimited.</summary>
    public int SlidingWindow { get; init; }
    /// <summary>Standard deviation of the GPT-2 normal initialisation.</summary>
    public double InitStd { get; init; } = 0.02;
    /// <summary>Previous tokens whose embeddings are mixed, each by a learned per-channel share, into each token's
    /// (<see cref="Modeling.TokenShift"/>): copying from the context then needs one attention layer instead of two
    /// composed ones. 0 (the default) = off.</summary>
    public int TokenShift { get; init; }

    /// <summary>Width of one attention head: n_embd / n_head.</summary>
    [JsonIgnore] public int HeadDim => NEmbd / NHead;
    /// <summary>Key/value heads actually used: <see cref="NKvHead"/>, or n_head when it is 0.</summary>
    [JsonIgnore] public int KvHeads => NKvHead == 0 ? NHead : NKvHead;

    /// <summary>Encoder depth of an encoder_decoder (<see cref="NEncoderLayer"/>, 0 meaning n_layer).</summary>
    [JsonIgnore] public int EncoderLayers => NEncoderLayer == 0 ? NLayer : NEncoderLayer;
    /// <summary>Sentinels an encoder_decoder embeds: <see cref="SentinelTokens"/>, or the most any window up to block_size needs.</summary>
    [JsonIgnore] public int Sentinels => SentinelTokens == 0 ? RequiredSentinels : SentinelTokens;
    /// <summary>The most noise spans span corruption cuts from a window of 2 … block_size tokens.</summary>
    [JsonIgnore] public int RequiredSentinels =>
        Enumerable.Range(2, Math.Max(1, BlockSize - 1)).Max(t => Architectures.SpanCorruption.Counts(t, NoiseDensity, MeanNoiseSpanLength).Spans);

    /// <summary>
    /// A lower bound on the parameters a model of this config has, from the config alone (token embedding, learned
    /// positions, untied head, per layer one n_embd² matrix and a Transformer's MLP) — computed in double so absurd sizes cannot overflow.
    /// Loaders compare it with the weight file's size before allocating; 0 for the count-based ngram type.
    /// </summary>
    public double MinimumParameters()
    {
        if (Type is not ("transformer" or "lstm" or "gru")) return 0;
        double embd = NEmbd, embedding = (double)VocabSize * embd;
        double positions = Type == "transformer" && PositionEncoding == "learned" ? (double)BlockSize * embd : 0;
        // Per layer at least the attention output (n_embd²) and, in a Transformer, the MLP's two matrices.
        double hidden = MlpHidden > 0 ? MlpHidden : (double)MlpRatio * embd * (Modeling.Activations.IsGated(Activation) ? 2.0 / 3 : 1);
        double mlp = Type == "transformer" ? 2.0 * embd * Math.Floor(hidden) : 0;
        return embedding + positions + (TieEmbeddings ? 0 : embedding) + NLayer * (embd * embd + mlp) + (double)TokenShift * embd;
    }

    /// <summary>True for the recurrent types "lstm" and "gru".</summary>
    [JsonIgnore] public bool IsRecurrent => Type is "lstm" or "gru";

    static readonly string[] Types = { "transformer", "lstm", "gru", "ngram" };
    static readonly string[] ArchitectureNames = { "causal_decoder", "prefix_decoder", "encoder_decoder" };
    static readonly string[] Norms = { "layernorm", "rmsnorm", "deepnorm" };
    static readonly string[] Placements = { "pre", "post", "sandwich" };
    static readonly string[] Activations = { "gelu", "gelu_tanh", "relu", "swish", "silu", "swiglu", "geglu" };
    static readonly string[] Positions = { "learned", "sinusoidal", "rope", "alibi", "t5" };

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first bad field.</summary>
    public ModelConfig Validate(string source = "model config")
    {
        void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new InvalidInputException($"{source}: {field} {problem}");
        }
        void OneOf(string value, string[] allowed, string field) =>
            Require(allowed.Contains(value), field, $"'{value}' is not supported (supported: {string.Join(", ", allowed)})");

        OneOf(Type, Types, "type");
        Require(Tbptt >= 0, "tbptt", "must not be negative (0 = whole window)");
        Require(Tbptt == 0 || IsRecurrent, "tbptt", $"applies only to lstm and gru models, not type '{Type}'");
        Require(NgramOrder >= 1, "ngram_order", "must be at least 1");
        Require(VocabSize > 0, "vocab_size", "must be positive");
        Require(BlockSize > 0, "block_size", "must be positive");
        Require(NLayer > 0, "n_layer", "must be positive");
        Require(NHead > 0, "n_head", "must be positive");
        Require(NEmbd > 0 && NEmbd % NHead == 0, "n_embd", $"must be a positive multiple of n_head ({NHead})");
        Require(NKvHead >= 0 && (NKvHead == 0 || NHead % NKvHead == 0), "n_kv_head", $"must divide n_head ({NHead})");
        Require(MlpRatio > 0, "mlp_ratio", "must be positive");
        Require(MlpHidden >= 0, "mlp_hidden", "must not be negative (0 = from mlp_ratio)");
        Require(!QkvBias || !Bias, "qkv_bias", "applies only with bias false (with bias true every projection has one)");
        Require(!QkvBias || Type == "transformer", "qkv_bias", $"applies only to transformer models, not type '{Type}'");
        Require(RopeScaling is null || PositionEncoding == "rope", "rope_scaling", $"applies only to position_encoding 'rope', not '{PositionEncoding}'");
        RopeScaling?.Validate(source);
        Require(Dropout >= 0 && Dropout < 1, "dropout", "must be in [0, 1)");
        Require(NormEps > 0, "norm_eps", "must be positive");
        Require(InitStd > 0, "init_std", "must be positive");
        Require(SlidingWindow >= 0, "sliding_window", "must not be negative (0 = off)");
        OneOf(Architecture, ArchitectureNames, "architecture");
        Require(Architecture == "causal_decoder" || Type == "transformer", "architecture", $"'{Architecture}' needs type 'transformer', not '{Type}'");
        Require(Architecture == "causal_decoder" || BlockSize >= 2, "block_size", $"must be at least 2 for a {Architecture} (one token on each side of the split)");
        Require(NEncoderLayer >= 0, "n_encoder_layer", "must not be negative (0 = n_layer)");
        Require(NEncoderLayer == 0 || Architecture == "encoder_decoder", "n_encoder_layer", $"applies only to encoder_decoder, not '{Architecture}'");
        Require(NoiseDensity > 0 && NoiseDensity < 1, "noise_density", "must be in (0, 1)");
        Require(MeanNoiseSpanLength >= 1, "mean_noise_span_length", "must be at least 1");
        Require(SentinelTokens >= 0, "sentinel_tokens", "must not be negative (0 = as many as needed)");
        if (Architecture == "encoder_decoder" && SentinelTokens > 0)
            Require(SentinelTokens >= RequiredSentinels, "sentinel_tokens", $"must be at least {RequiredSentinels}, the spans a {BlockSize}-token window can have");
        // The encoder's bidirectional T5 buckets split the table into two directions of relative_buckets/2 each.
        Require(Architecture != "encoder_decoder" || PositionEncoding != "t5" || RelativeBuckets >= 4, "relative_buckets", "must be at least 4 for an encoder_decoder (half per direction in the encoder)");
        OneOf(Norm, Norms, "norm");
        OneOf(NormPlacement, Placements, "norm_placement");
        Require(Norm != "deepnorm" || NormPlacement == "post", "norm_placement", $"must be 'post' with norm 'deepnorm' (DeepNorm is a post-LN scheme), not '{NormPlacement}'");
        OneOf(Activation, Activations, "activation");
        OneOf(PositionEncoding, Positions, "position_encoding");
        Require(PositionEncoding != "sinusoidal" || NEmbd % 2 == 0, "n_embd", "must be even for sinusoidal positions");
        Require(PositionEncoding != "rope" || HeadDim % 2 == 0, "n_embd", $"must give an even head size (n_embd / n_head = {HeadDim}) for rope");
        Require(TokenShift >= 0 && TokenShift <= 8, "token_shift", "must be in [0, 8] (previous tokens mixed in; 0 = off)");
        Require(TokenShift == 0 || Type == "transformer", "token_shift", $"applies only to transformer models, not type '{Type}'");
        Require(TokenShift == 0 || Architecture != "encoder_decoder", "token_shift", "is not supported for encoder_decoder (decoder-only architectures)");
        Require(RopeBase > 1, "rope_base", "must be greater than 1");
        Require(RelativeBuckets >= 2, "relative_buckets", "must be at least 2");
        Require(RelativeMaxDistance > RelativeBuckets / 2, "relative_max_distance", $"must exceed half of relative_buckets ({RelativeBuckets / 2})");
        return this;
    }
}
