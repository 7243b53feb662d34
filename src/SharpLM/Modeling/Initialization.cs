using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>GPT-2's initialisation, the one routine every Transformer here uses.</summary>
internal static class Initialization
{
    /// <summary>
    /// GPT-2 initialisation of <paramref name="model"/>: Linear and Embedding weights ~ N(0, init_std), biases 0,
    /// norms at (1, 0); projections that write into the residual stream use std init_std/√(2·layers of their stack)
    /// so its variance does not grow with depth. DeepNorm replaces that scaling: the value, output and feed-forward
    /// weights are multiplied by β = (8N)^(−1/4) (Wang et al. 2022), N = n_layer, applied to the same N(0, init_std).
    /// Random numbers are drawn in module order, then stack by stack and block by block, so a seed gives one model.
    /// </summary>
    /// <param name="model">The whole model: every Linear and Embedding in it is initialised.</param>
    /// <param name="config">Its configuration (init_std, norm, n_layer).</param>
    /// <param name="stacks">Each stack's blocks with its depth (a decoder; an encoder and a decoder).</param>
    public static void Gpt2(nn.Module model, ModelConfig config, params (IEnumerable<TransformerBlock> Blocks, int Depth)[] stacks)
    {
        using var _ = no_grad();
        double std = config.InitStd;
        NormalLinearsAndEmbeddings(model, std);
        if (config.Norm == "deepnorm")
        {
            double beta = Norms.DeepNormConstants(config.NLayer).Beta;
            foreach (var (blocks, _) in stacks)
                foreach (var block in blocks)
                    foreach (var weight in block.DeepNormScaledWeights) weight.mul_(beta);
            return;
        }
        foreach (var (blocks, depth) in stacks)
        {
            double residualStd = std / Math.Sqrt(2.0 * depth);
            foreach (var block in blocks)
                foreach (var projection in block.ResidualProjections) nn.init.normal_(projection.weight!, 0, residualStd);
        }
    }

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
