using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>Maps <see cref="ModelConfig.Activation"/> names to modules. New activations are added here.</summary>
public static class Activations
{
    public static nn.Module<Tensor, Tensor> Create(string name) => name switch
    {
        "gelu" => nn.GELU(),
        _ => throw new InvalidInputException($"model config: activation '{name}' is not supported"),
    };
}
