using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>Maps <see cref="ModelConfig.Norm"/> names to normalisation modules. New norms are added here.</summary>
public static class Norms
{
    public static nn.Module<Tensor, Tensor> Create(ModelConfig config) => config.Norm switch
    {
        "layernorm" => nn.LayerNorm(config.NEmbd, eps: config.NormEps, bias: config.Bias),
        _ => throw new InvalidInputException($"model config: norm '{config.Norm}' is not supported"),
    };
}
