using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling.Architectures;

/// <summary>
/// Encoder-decoder attention (Vaswani et al. 2017, §3.2.3): queries from the decoder, keys and values from the
/// encoder output, every decoder position seeing the whole input (<see cref="AttentionMasks.Cross"/>, so no mask
/// is passed). No position encoding: positions were already encoded by each stack's self-attention, as in T5.
/// The keys and values depend only on the encoder output, so a decoding state computes them once per prompt.
/// With grouped-query attention they have n_kv_head heads, like self-attention's.
/// </summary>
public sealed class CrossAttention : nn.Module
{
    readonly Linear c_q, c_kv, c_proj;
    readonly Dropout? resid_dropout;
    readonly int nHead, nKvHead, headDim;
    readonly double dropout;

    /// <summary>The cross-attention sublayer for <paramref name="config"/>: n_head query heads, <see cref="ModelConfig.KvHeads"/> key/value heads.</summary>
    public CrossAttention(ModelConfig config) : base(nameof(CrossAttention))
    {
        nHead = config.NHead;
        nKvHead = config.KvHeads;
        headDim = config.HeadDim;
        dropout = config.Dropout;
        c_q = nn.Linear(config.NEmbd, config.NEmbd, hasBias: config.Bias);
        c_kv = nn.Linear(config.NEmbd, 2 * nKvHead * headDim, hasBias: config.Bias);
        c_proj = nn.Linear(config.NEmbd, config.NEmbd, hasBias: config.Bias);
        if (config.Dropout > 0) resid_dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    internal Linear OutputProjection => c_proj;

    /// <summary>The rows of the key/value projection that produce V (DeepNorm scales their initialisation).</summary>
    internal Tensor ValueWeight => c_kv.weight!.narrow(0, nKvHead * headDim, nKvHead * headDim);

    /// <summary>Keys and values [B, n_kv_head, S, D] of the encoder output <paramref name="memory"/> [B, S, C].</summary>
    internal (Tensor Keys, Tensor Values) KeysValues(Tensor memory)
    {
        long b = memory.shape[0], s = memory.shape[1];
        Tensor[] kv = c_kv.forward(memory).view(b, s, 2, nKvHead, headDim).permute(2, 0, 3, 1, 4).unbind(0);
        return (kv[0], kv[1]);
    }

    /// <summary>Attention of the decoder states <paramref name="x"/> [B, T, C] over the encoder's keys and values.</summary>
    internal Tensor Forward(Tensor x, (Tensor Keys, Tensor Values) memory)
    {
        long b = x.shape[0], t = x.shape[1], c = x.shape[2];
        Tensor q = c_q.forward(x).view(b, t, nHead, headDim).transpose(1, 2);
        var (k, v) = memory;
        if (nKvHead != nHead)
        {
            k = k.repeat_interleave(nHead / nKvHead, dim: 1);
            v = v.repeat_interleave(nHead / nKvHead, dim: 1);
        }
        Tensor y = F.scaled_dot_product_attention(q, k, v, p: training ? dropout : 0.0);
        y = c_proj.forward(y.transpose(1, 2).contiguous().view(b, t, c));
        return resid_dropout is null ? y : resid_dropout.forward(y);
    }
}
