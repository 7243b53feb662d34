using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using SharpLM.Modeling.Parallel;

namespace SharpLM.Modeling;

/// <summary>
/// Position-wise feed-forward network: Linear → activation → Linear, hidden width mlp_ratio × n_embd. Under tensor
/// parallelism a rank holds 1/N of the hidden units: c_fc column-parallel, c_proj row-parallel (Megatron-LM).
/// </summary>
public sealed class Mlp : FeedForward
{
    readonly Linear c_fc, c_proj;
    readonly nn.Module<Tensor, Tensor> act;
    readonly Dropout? dropout;
    readonly TensorParallel? parallel;

    /// <summary>An MLP for <paramref name="config"/>: hidden width mlp_ratio × n_embd; activation, bias and dropout as configured.</summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="parallel">Hold only this rank's share of the hidden units; null = all of them.</param>
    public Mlp(ModelConfig config, TensorParallel? parallel = null) : base(nameof(Mlp))
    {
        this.parallel = parallel;
        int hidden = FeedForward.HiddenSize(config) / (parallel?.Size ?? 1);
        c_fc = nn.Linear(config.NEmbd, hidden, hasBias: config.Bias);
        act = Activations.Create(config.Activation);
        c_proj = nn.Linear(hidden, config.NEmbd, hasBias: config.Bias);
        if (config.Dropout > 0) dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    internal override Linear OutputProjection => c_proj;

    /// <summary>c_proj(act(c_fc(x))) for x [..., n_embd], then dropout when the config has it (active only in training).</summary>
    public override Tensor forward(Tensor x)
    {
        if (parallel is not null) x = parallel.CopyToShards(x);
        Tensor h = act.forward(LinearDeltas.Forward(c_fc, x));
        Tensor y = parallel is null ? LinearDeltas.Forward(c_proj, h) : parallel.RowParallel(c_proj, h);
        return dropout is null ? y : dropout.forward(y);
    }
}
