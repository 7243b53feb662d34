using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Modeling.Architectures;

/// <summary>
/// A decoder block of an encoder-decoder: causal self-attention, then cross-attention to the encoder output, then
/// the feed-forward — three sublayers, each wrapped by residual and norm exactly as <see cref="TransformerBlock"/>
/// wraps its two (pre, post with DeepNorm's α, or sandwich), so norm_placement means the same in every stack.
/// </summary>
public sealed class DecoderBlock : nn.Module
{
    readonly nn.Module<Tensor, Tensor> ln_1, ln_2, ln_3;
    readonly nn.Module<Tensor, Tensor>? ln_1_post, ln_2_post, ln_3_post;
    readonly CausalSelfAttention attn;
    readonly CrossAttention cross_attn;
    readonly FeedForward mlp;
    readonly string placement;
    readonly double alpha;

    /// <summary>A decoder block for <paramref name="config"/>: its norm, placement, attentions and feed-forward network.</summary>
    public DecoderBlock(ModelConfig config) : base(nameof(DecoderBlock))
    {
        placement = config.NormPlacement;
        alpha = config.Norm == "deepnorm" ? Norms.DeepNormConstants(config.NLayer).Alpha : 1.0;
        ln_1 = Norms.Create(config);
        attn = new CausalSelfAttention(config);
        ln_2 = Norms.Create(config);
        cross_attn = new CrossAttention(config);
        ln_3 = Norms.Create(config);
        mlp = FeedForward.Create(config);
        if (placement == "sandwich")
        {
            ln_1_post = Norms.Create(config);
            ln_2_post = Norms.Create(config);
            ln_3_post = Norms.Create(config);
        }
        RegisterComponents();
    }

    internal CausalSelfAttention Attention => attn;
    internal CrossAttention CrossAttention => cross_attn;
    internal FeedForward FeedForward => mlp;

    internal Tensor Forward(Tensor x, KvCache? cache, int layer, AttentionInputs inputs, (Tensor Keys, Tensor Values) memory)
    {
        x = Sublayer(x, ln_1, ln_1_post, h => attn.Forward(h, cache, layer, inputs));
        x = Sublayer(x, ln_2, ln_2_post, h => cross_attn.Forward(h, memory));
        return Sublayer(x, ln_3, ln_3_post, mlp.forward);
    }

    Tensor Sublayer(Tensor x, nn.Module<Tensor, Tensor> norm, nn.Module<Tensor, Tensor>? postNorm, Func<Tensor, Tensor> f) => placement switch
    {
        "post" => norm.forward((alpha == 1.0 ? x : x * alpha) + f(x)),
        "sandwich" => x + postNorm!.forward(f(norm.forward(x))),
        _ => x + f(norm.forward(x)),
    };
}
