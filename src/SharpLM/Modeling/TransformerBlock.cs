using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// One Transformer block, attention then feed-forward, each wrapped by residual and norm as norm_placement says:
/// "pre" (GPT-2): x + f(Norm(x)); "post" (Vaswani et al. 2017): Norm(α·x + f(x)), α = 1 except DeepNorm's
/// (2N)^(1/4); "sandwich" (Ding et al. 2021, CogView): x + Norm(f(Norm(x))), which bounds what each sublayer adds.
/// </summary>
public sealed class TransformerBlock : nn.Module
{
    readonly nn.Module<Tensor, Tensor> ln_1, ln_2;
    readonly nn.Module<Tensor, Tensor>? ln_1_post, ln_2_post;
    readonly CausalSelfAttention attn;
    readonly FeedForward mlp;
    readonly string placement;
    readonly double alpha;
    // Adapter tuning's bottleneck modules on each sublayer's output; null (and unregistered) until attached.
    nn.Module<Tensor, Tensor>? adapter_attn, adapter_mlp;

    /// <summary>A block for <paramref name="config"/>: its norm, placement, attention and feed-forward network.</summary>
    public TransformerBlock(ModelConfig config) : base(nameof(TransformerBlock))
    {
        placement = config.NormPlacement;
        alpha = config.Norm == "deepnorm" ? Norms.DeepNormConstants(config.NLayer).Alpha : 1.0;
        ln_1 = Norms.Create(config);
        attn = new CausalSelfAttention(config);
        ln_2 = Norms.Create(config);
        mlp = FeedForward.Create(config);
        if (placement == "sandwich")
        {
            ln_1_post = Norms.Create(config);
            ln_2_post = Norms.Create(config);
        }
        RegisterComponents();
    }

    internal CausalSelfAttention Attention => attn;
    internal FeedForward FeedForward => mlp;

    /// <summary>
    /// Adds a module on the output of each sublayer, before the residual addition and any post-norm (Houlsby et
    /// al. 2019); registered as "adapter_attn" and "adapter_mlp".
    /// </summary>
    internal void AttachSublayerAdapters(nn.Module<Tensor, Tensor> afterAttention, nn.Module<Tensor, Tensor> afterFeedForward)
    {
        if (adapter_attn is not null) throw new InvalidOperationException("this block already has sublayer adapters");
        adapter_attn = afterAttention;
        adapter_mlp = afterFeedForward;
        register_module("adapter_attn", afterAttention);
        register_module("adapter_mlp", afterFeedForward);
    }

    Tensor AttentionSublayer(Tensor x, IKeyValueCache? cache, int layer, AttentionInputs inputs)
    {
        Tensor y = attn.Forward(x, cache, layer, inputs);
        return adapter_attn is null ? y : adapter_attn.forward(y);
    }

    Tensor FeedForwardSublayer(Tensor x)
    {
        Tensor y = mlp.forward(x);
        return adapter_mlp is null ? y : adapter_mlp.forward(y);
    }

    internal Tensor Forward(Tensor x, IKeyValueCache? cache, int layer, AttentionInputs inputs)
    {
        switch (placement)
        {
            case "post":
                x = ln_1.forward(Residual(x) + AttentionSublayer(x, cache, layer, inputs));
                return ln_2.forward(Residual(x) + FeedForwardSublayer(x));
            case "sandwich":
                x = x + ln_1_post!.forward(AttentionSublayer(ln_1.forward(x), cache, layer, inputs));
                return x + ln_2_post!.forward(FeedForwardSublayer(ln_2.forward(x)));
            default:
                x = x + AttentionSublayer(ln_1.forward(x), cache, layer, inputs);
                return x + FeedForwardSublayer(ln_2.forward(x));
        }
    }

    Tensor Residual(Tensor x) => alpha == 1.0 ? x : x * alpha;
}
