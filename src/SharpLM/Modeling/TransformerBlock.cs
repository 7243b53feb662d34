using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>Pre-norm Transformer block: x + Attn(Norm(x)), then x + MLP(Norm(x)).</summary>
public sealed class TransformerBlock : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> ln_1, ln_2;
    readonly CausalSelfAttention attn;
    readonly Mlp mlp;

    public TransformerBlock(ModelConfig config) : base(nameof(TransformerBlock))
    {
        ln_1 = Norms.Create(config);
        attn = new CausalSelfAttention(config);
        ln_2 = Norms.Create(config);
        mlp = new Mlp(config);
        RegisterComponents();
    }

    internal CausalSelfAttention Attention => attn;
    internal Mlp FeedForward => mlp;

    public override Tensor forward(Tensor x) => Forward(x, null, 0);

    public Tensor Forward(Tensor x, KvCache? cache, int layer)
    {
        x = x + attn.Forward(ln_1.forward(x), cache, layer);
        return x + mlp.forward(ln_2.forward(x));
    }
}
