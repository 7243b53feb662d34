using SharpLM.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Training;

/// <summary>
/// AdamW with two parameter groups: weight matrices decay; biases, normalisation gains and embeddings do not
/// (decaying them pulls useful scale and token identity towards zero for no regularisation benefit).
/// </summary>
public static class OptimizerFactory
{
    public static AdamW AdamW(Gpt model, TrainingConfig c)
    {
        var (decay, noDecay) = SplitForWeightDecay(model);
        var groups = new List<AdamW.ParamGroup>
        {
            new(decay, lr: c.LearningRate, beta1: c.Beta1, beta2: c.Beta2, eps: c.Eps, weight_decay: c.WeightDecay),
            new(noDecay, lr: c.LearningRate, beta1: c.Beta1, beta2: c.Beta2, eps: c.Eps, weight_decay: 0),
        };
        return optim.AdamW(groups, c.LearningRate, c.Beta1, c.Beta2, c.Eps, c.WeightDecay);
    }

    public static (List<Parameter> Decay, List<Parameter> NoDecay) SplitForWeightDecay(nn.Module model)
    {
        var embeddings = new HashSet<IntPtr>();
        foreach (var (_, m) in model.named_modules())
            if (m is Embedding e) embeddings.Add(e.weight!.Handle);
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var p in model.parameters())
        {
            if (!p.requires_grad) continue;
            if (p.dim() >= 2 && !embeddings.Contains(p.Handle)) decay.Add(p); else noDecay.Add(p);
        }
        return (decay, noDecay);
    }

    public static void SetLearningRate(OptimizerHelper optimizer, double lr)
    {
        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
    }
}
