using SharpLM.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft.Prompt;

/// <summary>P learned input embeddings [P, n_embd] that a <see cref="Gpt"/> prepends to every row (see <see cref="IInputPrefix"/>).</summary>
public sealed class SoftPrompt : nn.Module, IInputPrefix
{
    readonly Parameter embedding;

    /// <summary>A soft prompt holding a copy of <paramref name="initial"/> [P, n_embd] as its parameter.</summary>
    public SoftPrompt(Tensor initial) : base(nameof(SoftPrompt))
    {
        embedding = new Parameter(initial.detach().clone().DetachFromDisposeScope());
        RegisterComponents();
    }

    /// <summary>Soft-prompt positions P.</summary>
    public int Length => (int)embedding.shape[0];

    /// <summary>The learned embeddings [P, n_embd], the parameter itself (not a copy).</summary>
    public Tensor Embeddings() => embedding;
}
