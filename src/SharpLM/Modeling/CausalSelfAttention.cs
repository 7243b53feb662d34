using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using SharpLM.Modeling.Parallel;

namespace SharpLM.Modeling;

/// <summary>
/// Causal self-attention: position t attends to positions ≤ t only (and, with a sliding window, to the last W).
/// Q, K and V come from one fused projection; with grouped-query attention (Ainslie et al. 2023) K and V have
/// only n_kv_head heads, each shared by n_head / n_kv_head query heads, which shrinks the projection and the KV
/// cache. The attention itself is libtorch's scaled_dot_product_attention.
/// <para>Under tensor parallelism (<see cref="TensorParallel"/>) a rank holds n_head/N query heads and n_kv_head/N
/// key/value heads: the fused projection is column-parallel, the output projection row-parallel.</para>
/// </summary>
public sealed class CausalSelfAttention : nn.Module
{
    // Field names follow nanoGPT / GPT-2 so state-dict keys read the same ("h.0.attn.c_attn.weight").
    readonly Linear c_attn, c_proj;
    readonly Dropout? resid_dropout;
    // This rank's heads: all of them, or 1/N under tensor parallelism.
    readonly int nHead, nKvHead, headDim;
    readonly double dropout;
    readonly TensorParallel? parallel;

    /// <summary>The attention sublayer for <paramref name="config"/>: n_head query heads, <see cref="ModelConfig.KvHeads"/> key/value heads.</summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="parallel">Hold only this rank's share of the heads; null = all of them.</param>
    public CausalSelfAttention(ModelConfig config, TensorParallel? parallel = null) : base(nameof(CausalSelfAttention))
    {
        int ranks = parallel?.Size ?? 1;
        this.parallel = parallel;
        nHead = config.NHead / ranks;
        nKvHead = config.KvHeads / ranks;
        headDim = config.HeadDim;
        dropout = config.Dropout;
        c_attn = nn.Linear(config.NEmbd, (nHead + 2 * nKvHead) * headDim, hasBias: config.Bias || config.QkvBias);
        c_proj = nn.Linear(nHead * headDim, config.NEmbd, hasBias: config.Bias);
        if (config.Dropout > 0) resid_dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    /// <summary>The output projection writes into the residual stream; GPT-2 scales its initialisation.</summary>
    internal Linear OutputProjection => c_proj;

    /// <summary>The fused Q, K, V projection: rows [0, C) give Q, then n_kv_head·head_dim rows each for K and V.</summary>
    internal Linear QkvProjection => c_attn;

    /// <summary>Row ranges of <see cref="QkvProjection"/>'s output that hold q, k and v.</summary>
    internal (long Offset, long Length) Rows(char part) => part switch
    {
        'q' => (0, nHead * headDim),
        'k' => (nHead * headDim, nKvHead * headDim),
        'v' => ((nHead + nKvHead) * headDim, nKvHead * headDim),
        _ => throw new ArgumentOutOfRangeException(nameof(part)),
    };

    /// <summary>The rows of the fused projection's weight that produce V (DeepNorm scales their initialisation).</summary>
    internal Tensor ValueWeight => c_attn.weight!.narrow(0, (nHead + nKvHead) * headDim, nKvHead * headDim);

    /// <summary>Attention over <paramref name="x"/> ([B, T, C]); with a cache, x holds only the new positions.</summary>
    internal Tensor Forward(Tensor x, IKeyValueCache? cache, int layer, AttentionInputs inputs)
    {
        long b = x.shape[0], t = x.shape[1];
        long qWidth = nHead * headDim, kvWidth = nKvHead * headDim;
        if (parallel is not null) x = parallel.CopyToShards(x);
        Tensor[] qkv = LinearDeltas.Forward(c_attn, x).split(new[] { qWidth, kvWidth, kvWidth }, dim: 2);
        Tensor q = Heads(qkv[0], b, t, nHead), k = Heads(qkv[1], b, t, nKvHead), v = Heads(qkv[2], b, t, nKvHead);
        if (inputs.RopeCos is not null)
        {
            q = RotaryEmbedding.Apply(q, inputs.RopeCos, inputs.RopeSin!);
            k = RotaryEmbedding.Apply(k, inputs.RopeCos, inputs.RopeSin!);
        }
        if (cache is not null) (k, v) = cache.Append(layer, k, v);
        if (inputs.PrefixKeys is not null)
        {
            // Prefix tuning: learned keys/values before the sequence's own (never cached: they do not change).
            Tensor pk = inputs.PrefixKeys[layer].to(k.dtype), pv = inputs.PrefixValues![layer].to(v.dtype);
            k = cat(new[] { pk.expand(b, -1, -1, -1), k }, 2);
            v = cat(new[] { pv.expand(b, -1, -1, -1), v }, 2);
        }
        if (nKvHead != nHead)
        {
            // The cache holds n_kv_head heads; each is shared by a group of consecutive query heads.
            k = k.repeat_interleave(nHead / nKvHead, dim: 1);
            v = v.repeat_interleave(nHead / nKvHead, dim: 1);
        }

        double p = training ? dropout : 0.0;
        Tensor y = F.scaled_dot_product_attention(q, k, v, attn_mask: inputs.Mask, p: p, is_casual: inputs.IsCausal);
        y = y.transpose(1, 2).contiguous().view(b, t, qWidth);
        y = parallel is null ? LinearDeltas.Forward(c_proj, y) : parallel.RowParallel(c_proj, y);
        return resid_dropout is null ? y : resid_dropout.forward(y);
    }

    Tensor Heads(Tensor z, long b, long t, int heads) => z.view(b, t, heads, headDim).transpose(1, 2);
}
