using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling;

/// <summary>
/// Multi-head self-attention with a causal mask: position t attends to positions ≤ t only. Q, K and V come from
/// one fused projection; the attention itself is libtorch's scaled_dot_product_attention.
/// </summary>
public sealed class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    // Field names follow nanoGPT / GPT-2 so state-dict keys read the same ("h.0.attn.c_attn.weight").
    readonly Linear c_attn, c_proj;
    readonly Dropout? resid_dropout;
    readonly int nHead, headDim;
    readonly double dropout;

    public CausalSelfAttention(ModelConfig config) : base(nameof(CausalSelfAttention))
    {
        nHead = config.NHead;
        headDim = config.HeadDim;
        dropout = config.Dropout;
        c_attn = nn.Linear(config.NEmbd, 3 * config.NEmbd, hasBias: config.Bias);
        c_proj = nn.Linear(config.NEmbd, config.NEmbd, hasBias: config.Bias);
        if (config.Dropout > 0) resid_dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    /// <summary>The output projection writes into the residual stream; GPT-2 scales its initialisation.</summary>
    internal Linear OutputProjection => c_proj;

    public override Tensor forward(Tensor x) => Forward(x, null, 0);

    /// <summary>Attention over <paramref name="x"/> ([B, T, C]); with a cache, x holds only the new positions.</summary>
    public Tensor Forward(Tensor x, KvCache? cache, int layer)
    {
        long b = x.shape[0], t = x.shape[1], c = x.shape[2];
        Tensor[] qkv = c_attn.forward(x).split(c, dim: 2);
        Tensor q = Heads(qkv[0], b, t), k = Heads(qkv[1], b, t), v = Heads(qkv[2], b, t);

        Tensor y;
        double p = training ? dropout : 0.0;
        if (cache is null || cache.Length == 0)
        {
            if (cache is not null) (k, v) = cache.Append(layer, k, v);
            y = F.scaled_dot_product_attention(q, k, v, p: p, is_casual: true);
        }
        else
        {
            int past = cache.Length;
            (k, v) = cache.Append(layer, k, v);
            // One new token may look at everything cached; several new tokens need the causal mask shifted by `past`.
            Tensor? mask = t == 1 ? null : CausalMaskWithPast(t, past, x.device);
            y = F.scaled_dot_product_attention(q, k, v, attn_mask: mask, p: p);
        }

        y = y.transpose(1, 2).contiguous().view(b, t, c);
        y = c_proj.forward(y);
        return resid_dropout is null ? y : resid_dropout.forward(y);
    }

    Tensor Heads(Tensor z, long b, long t) => z.view(b, t, nHead, headDim).transpose(1, 2);

    /// <summary>Boolean mask [T, past+T]: query i (absolute position past+i) may see key j iff j ≤ past+i.</summary>
    static Tensor CausalMaskWithPast(long t, int past, Device device) =>
        ones(new long[] { t, past + t }, ScalarType.Bool, device).tril(past);
}
