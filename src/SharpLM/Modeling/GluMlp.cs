using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using SharpLM.Modeling.Parallel;

namespace SharpLM.Modeling;

/// <summary>
/// Gated feed-forward network (Shazeer 2020, "GLU Variants Improve Transformer"): c_proj(act(c_gate(x)) ⊙ c_fc(x)),
/// with SiLU for SwiGLU and GELU for GeGLU. It has three matrices instead of two, so the hidden width is 2/3 of
/// the plain MLP's to keep the parameter count comparable (as the paper and LLaMA do). Under tensor parallelism a
/// rank holds 1/N of the hidden units: c_gate and c_fc column-parallel, c_proj row-parallel.
/// </summary>
public sealed class GluMlp : FeedForward
{
    readonly Linear c_gate, c_fc, c_proj;
    readonly nn.Module<Tensor, Tensor> act;
    readonly Dropout? dropout;
    readonly TensorParallel? parallel;

    /// <summary>A gated MLP for <paramref name="config"/>: hidden width <see cref="FeedForward.HiddenSize"/>; activation, bias and dropout as configured.</summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="parallel">Hold only this rank's share of the hidden units; null = all of them.</param>
    public GluMlp(ModelConfig config, TensorParallel? parallel = null) : base(nameof(GluMlp))
    {
        this.parallel = parallel;
        int hidden = FeedForward.HiddenSize(config) / (parallel?.Size ?? 1);
        c_gate = nn.Linear(config.NEmbd, hidden, hasBias: config.Bias);
        c_fc = nn.Linear(config.NEmbd, hidden, hasBias: config.Bias);
        act = Activations.Create(config.Activation);
        c_proj = nn.Linear(hidden, config.NEmbd, hasBias: config.Bias);
        if (config.Dropout > 0) dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    /// <summary>
    /// ⌈2/3 · mlp_ratio · n_embd⌉ rounded up to a multiple of 8 (LLaMA rounds to 256; 8 suits small models and
    /// keeps matrix sizes friendly to vector units). n_embd 32, ratio 4 → 88. An explicit mlp_hidden overrides it.
    /// </summary>
    public static int RatioHiddenSize(ModelConfig config)
    {
        int twoThirds = (2 * config.MlpRatio * config.NEmbd + 2) / 3;
        return (twoThirds + 7) / 8 * 8;
    }

    internal override Linear OutputProjection => c_proj;

    /// <summary>c_proj(act(c_gate(x)) ⊙ c_fc(x)) for x [..., n_embd], then dropout when the config has it (active only in training).</summary>
    public override Tensor forward(Tensor x)
    {
        if (parallel is not null) x = parallel.CopyToShards(x);
        Tensor h = act.forward(LinearDeltas.Forward(c_gate, x)) * LinearDeltas.Forward(c_fc, x);
        Tensor y = parallel is null ? LinearDeltas.Forward(c_proj, h) : parallel.RowParallel(c_proj, h);
        return dropout is null ? y : dropout.forward(y);
    }
}
