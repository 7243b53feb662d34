using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>GPT-2's base initialisation, shared by every Transformer: Linear and Embedding weights ~ N(0, std), biases 0.</summary>
internal static class Initialization
{
    /// <summary>Initialises every Linear and Embedding under <paramref name="model"/> in module order (call under no_grad).</summary>
    public static void NormalLinearsAndEmbeddings(nn.Module model, double std)
    {
        foreach (var (_, module) in model.named_modules())
        {
            if (module is Linear linear)
            {
                nn.init.normal_(linear.weight!, 0, std);
                if (linear.bias is not null) nn.init.zeros_(linear.bias);
            }
            else if (module is Embedding embedding)
            {
                nn.init.normal_(embedding.weight!, 0, std);
            }
        }
    }
}
