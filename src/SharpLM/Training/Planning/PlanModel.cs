using SharpLM.Modeling;

namespace SharpLM.Training.Planning;

/// <summary>
/// The model a capacity plan is for: its parameter count Ψ and, where known, the shape the activation, tensor-parallel
/// and attention-FLOP terms need. Built from a SharpLM <see cref="ModelConfig"/> (<see cref="FromConfig"/>) or from a
/// bare count such as 7.5e9 (<see cref="FromParameters"/>), whose shape fields then stay null and the terms that need
/// them are left out of the plan rather than guessed.
/// </summary>
/// <param name="Parameters">Ψ: every parameter, the count model states (weights, gradients, Adam) are kept for.</param>
/// <param name="FlopParameters">The parameters a token multiplies: Ψ less a learned position table, which is looked up, not multiplied (as <see cref="Gpt.TrainingFlopsPerToken"/>).</param>
/// <param name="Layers">L, Transformer blocks.</param>
/// <param name="Hidden">h, the residual-stream width (n_embd).</param>
/// <param name="Heads">a, attention heads.</param>
/// <param name="SeqLen">s, tokens per sequence (a config's block_size unless given).</param>
public sealed record PlanModel(double Parameters, double FlopParameters, int? Layers, int? Hidden, int? Heads, int? SeqLen)
{
    /// <summary>
    /// Training FLOPs per token (PaLM appendix B, as <see cref="Gpt.TrainingFlopsPerToken"/>): 6 per multiplied
    /// parameter (2 forward, 4 backward) plus 12·L·s·h for attention scores and their weighted sums, which no parameter
    /// count sees; just 6·Ψ when the shape is unknown (Kaplan et al. 2020's C ≈ 6N).
    /// </summary>
    public double FlopsPerToken =>
        6.0 * FlopParameters + (Layers is int l && Hidden is int h && SeqLen is int s ? 12.0 * l * s * h : 0);

    /// <summary>A model given by its parameter count alone, with whatever of its shape is known.</summary>
    /// <exception cref="InvalidInputException">Ψ is not positive, or a shape field is not positive; names it.</exception>
    public static PlanModel FromParameters(double parameters, int? layers = null, int? hidden = null, int? heads = null, int? seqLen = null)
    {
        if (!(parameters > 0) || double.IsInfinity(parameters)) throw new InvalidInputException($"--params: must be a positive number, not {parameters}");
        Positive(layers, "--layers");
        Positive(hidden, "--hidden");
        Positive(heads, "--heads");
        Positive(seqLen, "--seq-len");
        if (hidden is int h && heads is int a && h % a != 0) throw new InvalidInputException($"--hidden: must be a multiple of --heads ({a}), not {h}");
        return new PlanModel(parameters, parameters, layers, hidden, heads, seqLen);
    }

    /// <summary>
    /// A SharpLM decoder-only Transformer config, its parameters counted from the config (<see cref="CountParameters"/>)
    /// so that a 70-billion-parameter config is planned without allocating it.
    /// </summary>
    /// <param name="config">A transformer config with a causal or prefix decoder.</param>
    /// <param name="seqLen">Tokens per sequence; null = the config's block_size.</param>
    /// <exception cref="InvalidInputException">The config is invalid or not a decoder-only Transformer; names the field.</exception>
    public static PlanModel FromConfig(ModelConfig config, int? seqLen = null)
    {
        config.Validate();
        if (config.Type != "transformer") throw new InvalidInputException($"model config: type '{config.Type}' is not planned; the planner's formulas are for Transformers");
        if (config.Architecture == "encoder_decoder") throw new InvalidInputException("model config: architecture 'encoder_decoder' is not planned; the planner's formulas are for decoder-only Transformers");
        Positive(seqLen, "--seq-len");
        double total = CountParameters(config);
        double positions = config.PositionEncoding == "learned" ? (double)config.BlockSize * config.NEmbd : 0;
        return new PlanModel(total, total - positions, config.NLayer, config.NEmbd, config.NHead, seqLen ?? config.BlockSize);
    }

    /// <summary>
    /// Every parameter <see cref="Gpt"/> (or a <see cref="Modeling.Architectures.PrefixDecoder"/>) allocates for
    /// <paramref name="config"/>, module by module as its constructors build them: embeddings, the optional position,
    /// token-shift and T5 tables, per block the norms, the fused q/k/v and output projections and the (gated) MLP,
    /// then the final norm and an untied head. The tests hold it equal to a built model's count.
    /// </summary>
    public static double CountParameters(ModelConfig config)
    {
        double c = config.NEmbd, v = config.VocabSize, hidden = FeedForward.HiddenSize(config);
        double Linear(double inputs, double outputs, bool bias) => inputs * outputs + (bias ? outputs : 0);
        double norm = config.Norm == "rmsnorm" ? c : config.Bias ? 2 * c : c;   // LayerNorm's bias follows config.bias

        double qkv = (config.NHead + 2.0 * config.KvHeads) * config.HeadDim;
        double attention = Linear(c, qkv, config.Bias || config.QkvBias) + Linear(c, c, config.Bias);
        double mlp = (Activations.IsGated(config.Activation) ? 2 : 1) * Linear(c, hidden, config.Bias) + Linear(hidden, c, config.Bias);
        double block = attention + mlp + (config.NormPlacement == "sandwich" ? 4 : 2) * norm;

        double embeddings = v * c
            + (config.PositionEncoding == "learned" ? config.BlockSize * c : 0)
            + config.TokenShift * c
            + (config.PositionEncoding == "t5" ? (double)config.RelativeBuckets * config.NHead : 0);
        // Post-norm blocks end normalised, so Gpt has no final norm after them; a tied head is the embedding matrix.
        return embeddings + config.NLayer * block + (config.NormPlacement == "post" ? 0 : norm) + (config.TieEmbeddings ? 0 : v * c);
    }

    static void Positive(int? value, string option)
    {
        if (value is int n && n < 1) throw new InvalidInputException($"{option}: must be positive, not {n}");
    }
}
