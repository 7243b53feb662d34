using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using SharpLM.Modeling.Parallel;

namespace SharpLM.Modeling;

/// <summary>The position-wise feed-forward sublayer of a block: a plain <see cref="Mlp"/> or a gated <see cref="GluMlp"/>.</summary>
public abstract class FeedForward : nn.Module<Tensor, Tensor>
{
    /// <summary>Names the module <paramref name="name"/>.</summary>
    protected FeedForward(string name) : base(name) { }

    /// <summary>The feed-forward network the config's activation calls for: a <see cref="GluMlp"/> for "swiglu" / "geglu", else an <see cref="Mlp"/>.</summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="parallel">Hold only this rank's share of the hidden units (<see cref="TensorParallel"/>); null = all of them.</param>
    public static FeedForward Create(ModelConfig config, TensorParallel? parallel = null) =>
        Activations.IsGated(config.Activation) ? new GluMlp(config, parallel) : new Mlp(config, parallel);

    /// <summary>The hidden width: mlp_hidden when set, else mlp_ratio × n_embd (2/3 of it for the gated variants, <see cref="GluMlp.RatioHiddenSize"/>).</summary>
    public static int HiddenSize(ModelConfig config) =>
        config.MlpHidden > 0 ? config.MlpHidden
        : Activations.IsGated(config.Activation) ? GluMlp.RatioHiddenSize(config) : config.MlpRatio * config.NEmbd;

    /// <summary>The projection that writes into the residual stream; GPT-2 and DeepNorm scale its initialisation.</summary>
    internal abstract Linear OutputProjection { get; }
}
