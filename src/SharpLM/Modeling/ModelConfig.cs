using System.Text.Json.Serialization;

namespace SharpLM.Modeling;

/// <summary>
/// One record describes every architecture variant by its fields (litgpt-style), so a new variant is a new field
/// value, not a new model class. It is serialised with every checkpoint (config.json) and validated on load.
/// Today's values: a GPT causal decoder with learned positions, pre-LayerNorm blocks and a GELU MLP. The
/// architecture zoo (RMSNorm, SwiGLU, RoPE, ALiBi, GQA, prefix and encoder-decoder) plugs in through
/// <see cref="Architecture"/>, <see cref="Norm"/>, <see cref="Activation"/>, <see cref="PositionEncoding"/>
/// and <see cref="NKvHead"/>.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>"causal_decoder" (GPT).</summary>
    public string Architecture { get; init; } = "causal_decoder";
    public int VocabSize { get; init; } = 65;
    /// <summary>Maximum context length (number of positions).</summary>
    public int BlockSize { get; init; } = 64;
    public int NLayer { get; init; } = 4;
    public int NHead { get; init; } = 4;
    /// <summary>Key/value heads; 0 means equal to <see cref="NHead"/> (multi-head attention).</summary>
    public int NKvHead { get; init; }
    public int NEmbd { get; init; } = 128;
    /// <summary>Hidden width of the MLP as a multiple of <see cref="NEmbd"/>.</summary>
    public int MlpRatio { get; init; } = 4;
    public double Dropout { get; init; }
    /// <summary>Bias in Linear layers and LayerNorms.</summary>
    public bool Bias { get; init; } = true;
    /// <summary>Output head shares the token-embedding matrix.</summary>
    public bool TieEmbeddings { get; init; } = true;
    /// <summary>"layernorm".</summary>
    public string Norm { get; init; } = "layernorm";
    public double NormEps { get; init; } = 1e-5;
    /// <summary>"gelu" (exact erf form, as nn.GELU).</summary>
    public string Activation { get; init; } = "gelu";
    /// <summary>"learned" absolute position embeddings.</summary>
    public string PositionEncoding { get; init; } = "learned";
    /// <summary>Standard deviation of the GPT-2 normal initialisation.</summary>
    public double InitStd { get; init; } = 0.02;

    [JsonIgnore] public int HeadDim => NEmbd / NHead;
    [JsonIgnore] public int KvHeads => NKvHead == 0 ? NHead : NKvHead;

    static readonly string[] Architectures = { "causal_decoder" };
    static readonly string[] Norms = { "layernorm" };
    static readonly string[] Activations = { "gelu" };
    static readonly string[] Positions = { "learned" };

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first bad field.</summary>
    public ModelConfig Validate(string source = "model config")
    {
        void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new InvalidInputException($"{source}: {field} {problem}");
        }
        void OneOf(string value, string[] allowed, string field) =>
            Require(allowed.Contains(value), field, $"'{value}' is not supported (supported: {string.Join(", ", allowed)})");

        Require(VocabSize > 0, "vocab_size", "must be positive");
        Require(BlockSize > 0, "block_size", "must be positive");
        Require(NLayer > 0, "n_layer", "must be positive");
        Require(NHead > 0, "n_head", "must be positive");
        Require(NEmbd > 0 && NEmbd % NHead == 0, "n_embd", $"must be a positive multiple of n_head ({NHead})");
        Require(NKvHead >= 0 && (NKvHead == 0 || NHead % NKvHead == 0), "n_kv_head", "must divide n_head");
        Require(KvHeads == NHead, "n_kv_head", "grouped-query attention is not supported yet (use 0)");
        Require(MlpRatio > 0, "mlp_ratio", "must be positive");
        Require(Dropout >= 0 && Dropout < 1, "dropout", "must be in [0, 1)");
        Require(NormEps > 0, "norm_eps", "must be positive");
        Require(InitStd > 0, "init_std", "must be positive");
        OneOf(Architecture, Architectures, "architecture");
        OneOf(Norm, Norms, "norm");
        OneOf(Activation, Activations, "activation");
        OneOf(PositionEncoding, Positions, "position_encoding");
        return this;
    }
}
