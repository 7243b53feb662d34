using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// One Transformer block: self-attention, then (in an encoder-decoder's decoder) cross-attention to the encoder
/// output, then the feed-forward network. Every sublayer is wrapped by residual and norm as norm_placement says:
/// "pre" (GPT-2): x + f(Norm(x)); "post" (Vaswani et al. 2017): Norm(α·x + f(x)), α = 1 except DeepNorm's
/// (2N)^(1/4); "sandwich" (Ding et al. 2021, CogView): x + Norm(f(Norm(x))), which bounds what each sublayer adds.
/// <para>It is the one block of every Transformer here — <see cref="Gpt"/>'s decoder, an encoder-decoder's encoder
/// and decoder — so a change to a sublayer (tensor parallelism's split attention and feed-forward) is made once.
/// State-dict names follow GPT-2 and T5's order: ln_1 → attn, ln_2 → cross_attn, ln_3 → mlp with cross-attention;
/// ln_1 → attn, ln_2 → mlp without.</para>
/// </summary>
public sealed class TransformerBlock : nn.Module
{
    // Declaration order is registration order: state-dict order, and the order initialisation draws random numbers.
    readonly nn.Module<Tensor, Tensor> ln_1, ln_2;
    readonly nn.Module<Tensor, Tensor>? ln_3;
    readonly nn.Module<Tensor, Tensor>? ln_1_post, ln_2_post, ln_3_post;
    readonly CausalSelfAttention attn;
    readonly Architectures.CrossAttention? cross_attn;
    readonly FeedForward mlp;
    readonly string placement;
    readonly double alpha;
    // Adapter tuning's bottleneck modules on each sublayer's output; null (and unregistered) until attached.
    nn.Module<Tensor, Tensor>? adapter_attn, adapter_mlp;

    /// <summary>A block for <paramref name="config"/>: its norm, placement, attention and feed-forward network.</summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="crossAttention">Add cross-attention to an encoder output (an encoder-decoder's decoder block).</param>
    /// <param name="parallel">Split attention heads and feed-forward units across tensor-parallel ranks; null = the whole block.</param>
    public TransformerBlock(ModelConfig config, bool crossAttention = false, Parallel.TensorParallel? parallel = null) : base(nameof(TransformerBlock))
    {
        placement = config.NormPlacement;
        alpha = config.Norm == "deepnorm" ? Norms.DeepNormConstants(config.NLayer).Alpha : 1.0;
        ln_1 = Norms.Create(config);
        attn = new CausalSelfAttention(config, parallel);
        ln_2 = Norms.Create(config);
        if (crossAttention)
        {
            cross_attn = new Architectures.CrossAttention(config);
            ln_3 = Norms.Create(config);
        }
        mlp = FeedForward.Create(config, parallel);
        if (placement == "sandwich")
        {
            ln_1_post = Norms.Create(config);
            ln_2_post = Norms.Create(config);
            if (crossAttention) ln_3_post = Norms.Create(config);
        }
        RegisterComponents();
    }

    internal CausalSelfAttention Attention => attn;
    internal Architectures.CrossAttention? CrossAttention => cross_attn;
    internal FeedForward FeedForward => mlp;

    /// <summary>The projections that write into the residual stream, in the order GPT-2 initialisation draws them.</summary>
    internal IEnumerable<Linear> ResidualProjections =>
        cross_attn is null ? [attn.OutputProjection, mlp.OutputProjection] : [attn.OutputProjection, cross_attn.OutputProjection, mlp.OutputProjection];

    /// <summary>The weights DeepNorm multiplies by β: every attention's value and output projections and the whole feed-forward network.</summary>
    internal IEnumerable<Tensor> DeepNormScaledWeights
    {
        get
        {
            yield return attn.ValueWeight;
            yield return attn.OutputProjection.weight!;
            if (cross_attn is not null)
            {
                yield return cross_attn.ValueWeight;
                yield return cross_attn.OutputProjection.weight!;
            }
            foreach (var linear in mlp.modules().OfType<Linear>()) yield return linear.weight!;
        }
    }

    /// <summary>
    /// Adds a module on the output of the self-attention and feed-forward sublayers, before the residual addition and
    /// any post-norm (Houlsby et al. 2019); registered as "adapter_attn" and "adapter_mlp".
    /// </summary>
    internal void AttachSublayerAdapters(nn.Module<Tensor, Tensor> afterAttention, nn.Module<Tensor, Tensor> afterFeedForward)
    {
        if (adapter_attn is not null) throw new InvalidOperationException("this block already has sublayer adapters");
        adapter_attn = afterAttention;
        adapter_mlp = afterFeedForward;
        register_module("adapter_attn", afterAttention);
        register_module("adapter_mlp", afterFeedForward);
    }

    /// <summary>
    /// The block over <paramref name="x"/> [B, T, C]; with a cache, x holds only the new positions.
    /// <paramref name="memory"/> is this layer's cross-attention keys and values (a decoder block; null otherwise).
    /// </summary>
    internal Tensor Forward(Tensor x, IKeyValueCache? cache, int layer, AttentionInputs inputs, (Tensor Keys, Tensor Values)? memory = null)
    {
        x = Sublayer(x, ln_1, ln_1_post, h =>
        {
            Tensor y = attn.Forward(h, cache, layer, inputs);
            return adapter_attn is null ? y : adapter_attn.forward(y);
        });
        if (cross_attn is not null)
        {
            if (memory is not { } kv) throw new ArgumentException("a block with cross-attention needs the encoder's keys and values");
            x = Sublayer(x, ln_2, ln_2_post, h => cross_attn.Forward(h, kv));
        }
        return cross_attn is null
            ? Sublayer(x, ln_2, ln_2_post, FeedForwardSublayer)
            : Sublayer(x, ln_3!, ln_3_post, FeedForwardSublayer);
    }

    Tensor FeedForwardSublayer(Tensor x)
    {
        Tensor y = mlp.forward(x);
        return adapter_mlp is null ? y : adapter_mlp.forward(y);
    }

    /// <summary>One sublayer f wrapped by residual and norm(s) as norm_placement says.</summary>
    Tensor Sublayer(Tensor x, nn.Module<Tensor, Tensor> norm, nn.Module<Tensor, Tensor>? postNorm, Func<Tensor, Tensor> f) => placement switch
    {
        "post" => norm.forward((alpha == 1.0 ? x : x * alpha) + f(x)),
        "sandwich" => x + postNorm!.forward(f(norm.forward(x))),
        _ => x + f(norm.forward(x)),
    };
}
