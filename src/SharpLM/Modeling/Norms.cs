using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>Maps <see cref="ModelConfig.Norm"/> names to normalisation modules. New norms are added here.</summary>
public static class Norms
{
    /// <summary>A norm of width n_embd: LayerNorm for "layernorm" and "deepnorm", <see cref="RmsNorm"/> for "rmsnorm".</summary>
    /// <exception cref="InvalidInputException">The config names another norm.</exception>
    public static nn.Module<Tensor, Tensor> Create(ModelConfig config) => config.Norm switch
    {
        // DeepNorm changes the residual and the initialisation (TransformerBlock, Gpt), not the norm itself.
        "layernorm" or "deepnorm" => nn.LayerNorm(config.NEmbd, eps: config.NormEps, bias: config.Bias),
        "rmsnorm" => new RmsNorm(config.NEmbd, config.NormEps),
        _ => throw new InvalidInputException($"model config: norm '{config.Norm}' is not supported"),
    };

    /// <summary>
    /// DeepNorm's residual weight α = (2N)^(1/4) and initialisation gain β = (8N)^(-1/4) for a decoder-only model of
    /// N layers (Wang et al. 2022, "DeepNet", table 1): they bound the model update so post-LN trains stably.
    /// </summary>
    public static (double Alpha, double Beta) DeepNormConstants(int nLayer) =>
        (Math.Pow(2.0 * nLayer, 0.25), Math.Pow(8.0 * nLayer, -0.25));
}
