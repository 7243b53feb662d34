using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>Maps <see cref="ModelConfig.Activation"/> names to modules. New activations are added here.</summary>
public static class Activations
{
    /// <summary>GLU variants (Shazeer 2020) multiply an activated gate with a linear "up" projection; see <see cref="GluMlp"/>.</summary>
    public static bool IsGated(string name) => name is "swiglu" or "geglu";

    /// <summary>The activation, or for a GLU variant the function applied to its gate.</summary>
    public static nn.Module<Tensor, Tensor> Create(string name) => name switch
    {
        "gelu" or "geglu" => nn.GELU(),
        // GPT-2's "gelu_new": the tanh approximation of GELU (Hendrycks & Gimpel), which GPT-2 was trained with.
        "gelu_tanh" => nn.GELU(TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => nn.ReLU(),
        // Swish with β = 1 (Ramachandran et al. 2017) is SiLU (Hendrycks & Gimpel); both names are accepted.
        "swish" or "silu" or "swiglu" => nn.SiLU(),
        _ => throw new InvalidInputException($"model config: activation '{name}' is not supported"),
    };
}
