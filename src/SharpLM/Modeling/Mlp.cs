using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>Position-wise feed-forward network: Linear → activation → Linear, hidden width mlp_ratio × n_embd.</summary>
public sealed class Mlp : FeedForward
{
    readonly Linear c_fc, c_proj;
    readonly nn.Module<Tensor, Tensor> act;
    readonly Dropout? dropout;

    /// <summary>An MLP for <paramref name="config"/>: hidden width mlp_ratio × n_embd; activation, bias and dropout as configured.</summary>
    public Mlp(ModelConfig config) : base(nameof(Mlp))
    {
        int hidden = FeedForward.HiddenSize(config);
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
        Tensor y = LinearDeltas.Forward(c_proj, act.forward(LinearDeltas.Forward(c_fc, x)));
        return dropout is null ? y : dropout.forward(y);
    }
}
