using SharpLM.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft.Prompt;

/// <summary>P learned input embeddings [P, n_embd] that a <see cref="Gpt"/> prepends to every row (see <see cref="IInputPrefix"/>).</summary>
public sealed class SoftPrompt : nn.Module, IInputPrefix
{
    readonly Parameter embedding;

    public SoftPrompt(Tensor initial) : base(nameof(SoftPrompt))
    {
        embedding = new Parameter(initial.detach().clone().DetachFromDisposeScope());
        RegisterComponents();
    }

    public int Length => (int)embedding.shape[0];

    public Tensor Embeddings() => embedding;
}
