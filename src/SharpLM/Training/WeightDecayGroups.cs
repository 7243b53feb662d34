using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Training;

/// <summary>
/// Splits trainable parameters for AdamW: weight matrices decay; biases, normalisation gains and embeddings do
/// not (decaying them pulls useful scale and token identity towards zero for no regularisation benefit).
/// </summary>
public static class WeightDecayGroups
{
    /// <summary>The trainable parameters of <paramref name="model"/> in two lists, in model order: weight matrices
    /// (rank 2 or more, not embeddings) to decay, and the rest; frozen parameters are in neither.</summary>
    public static (List<Parameter> Decay, List<Parameter> NoDecay) Split(nn.Module model)
    {
        // By name: a module's weight property and parameters() need not hand out the same wrapper object.
        var embeddings = model.named_modules().Where(m => m.module is Embedding)
            .Select(m => m.name.Length == 0 ? "weight" : $"{m.name}.weight").ToHashSet();
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) continue;
            if (p.dim() >= 2 && !embeddings.Contains(name)) decay.Add(p); else noDecay.Add(p);
        }
        return (decay, noDecay);
    }
}
