using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// What every layer's attention needs about positions in one forward pass, computed once per pass: the mask (with
/// any ALiBi or T5 bias folded in) and the rotary angles. Positions are absolute — the new tokens continue from the
/// KV cache's length — so a cached pass sees exactly what a full pass sees.
/// </summary>
internal sealed class AttentionInputs
{
    /// <summary>Boolean (true = may attend) or additive float mask [.., T, start+T]; null with <see cref="IsCausal"/> or for one query over the whole cache.</summary>
    public Tensor? Mask { get; private init; }
    /// <summary>Use SDPA's built-in causal mask (no cache prefix, no bias, no window): the fast path.</summary>
    public bool IsCausal { get; private init; }
    public Tensor? RopeCos { get; private init; }
    public Tensor? RopeSin { get; private init; }
    /// <summary>Prefix tuning's keys and values per layer ([1, n_kv_head, P, head_dim]), placed before each layer's own; null = none.</summary>
    public Tensor[]? PrefixKeys { get; private init; }
    public Tensor[]? PrefixValues { get; private init; }

    /// <param name="config">The model's configuration (position encoding, sliding window, heads).</param>
    /// <param name="start">Position of the first query (the cache length when decoding).</param>
    /// <param name="length">Number of query positions T.</param>
    /// <param name="device">Where the masks and tables are made.</param>
    /// <param name="dtype">Dtype of the additive biases (the activations' dtype).</param>
    /// <param name="positionBias">ALiBi or T5 biases [1, H, T, start+T], or null.</param>
    /// <param name="visible">
    /// Which keys each query may see (boolean, [T, start+T] or [B, 1, T, start+T]) when that is not the causal
    /// rule: a prefix decoder's prefix or an encoder (<see cref="Architectures.AttentionMasks"/>); null = causal.
    /// </param>
    /// <param name="positions">
    /// Per-token positions [B, T] where they are not start … start+T−1 (packed rows restart at every segment); only
    /// RoPE reads them here: ALiBi, T5 and sliding windows depend on the offset between query and key, which is the
    /// same within a segment, and attention across segments is masked.
    /// </param>
    public static AttentionInputs Create(ModelConfig config, long start, long length, Tensor? positionBias, Device device, ScalarType dtype, Tensor? visible = null, Tensor? positions = null)
    {
        Tensor? cos = null, sin = null;
        if (config.PositionEncoding == "rope")
        {
            (cos, sin) = RotaryEmbedding.Angles(positions is null ? start : 0, length, config, device);
            if (positions is not null)
            {
                // [B, 1, T, D]: broadcasts over the heads of q and k.
                long b = positions.shape[0];
                cos = cos.index_select(0, positions.reshape(-1)).view(b, 1, length, config.HeadDim);
                sin = sin.index_select(0, positions.reshape(-1)).view(b, 1, length, config.HeadDim);
            }
        }

        if (positionBias is null && config.SlidingWindow == 0)
        {
            if (visible is not null) return new AttentionInputs { Mask = visible, RopeCos = cos, RopeSin = sin };
            // One new query may look at everything cached; several need the causal mask shifted by `start`.
            Tensor? shifted = start > 0 && length > 1 ? ones(new long[] { length, start + length }, ScalarType.Bool, device).tril(start) : null;
            return new AttentionInputs { IsCausal = start == 0, Mask = shifted, RopeCos = cos, RopeSin = sin };
        }

        Tensor distance = Distance(start, length, device);
        Tensor allowed = visible ?? distance >= 0;
        // Sliding window (Child et al. 2019; Beltagy et al. 2020): query i sees keys i−W+1 … i only (and, where
        // attention is bidirectional, up to i+W−1).
        if (config.SlidingWindow > 0) allowed = allowed.logical_and(distance.abs() < config.SlidingWindow);
        // where() rather than masked_fill: a per-row mask [B, 1, T, S] broadcasts against the biases [1, H, T, S].
        Tensor mask = positionBias is null ? allowed : where(allowed, positionBias.to(dtype), double.NegativeInfinity);
        return new AttentionInputs { Mask = mask, RopeCos = cos, RopeSin = sin };
    }

    /// <summary>
    /// Inputs for a batched decoding pass over the slots of a <see cref="SlotKvCache"/>: every row has its own
    /// positions, and its mask (causal by absolute position, sliding window included) hides the other rows' lengths.
    /// Position biases (ALiBi, T5) are not built per row; <see cref="Gpt.SlotDecodingRefusal"/> keeps such models out.
    /// </summary>
    internal static AttentionInputs ForRows(ModelConfig config, SlotKvCache.Pass pass, Device device)
    {
        Tensor? cos = null, sin = null;
        if (config.PositionEncoding == "rope")
        {
            (cos, sin) = RotaryEmbedding.Angles(0, pass.KeyLength, config, device);
            long b = pass.Positions.shape[0], t = pass.Positions.shape[1];
            cos = cos.index_select(0, pass.Positions.reshape(-1)).view(b, 1, t, config.HeadDim);
            sin = sin.index_select(0, pass.Positions.reshape(-1)).view(b, 1, t, config.HeadDim);
        }
        return new AttentionInputs { Mask = pass.Visible, RopeCos = cos, RopeSin = sin };
    }

    /// <summary>
    /// The same inputs with prefix tuning's keys and values before every layer's own: every query sees them, so the
    /// mask gains that many leading columns that are visible (boolean) or unbiased (additive).
    /// </summary>
    public AttentionInputs WithKeyValuePrefix(Tensor[] keys, Tensor[] values, long length)
    {
        long p = keys[0].shape[2];
        Tensor? mask = Mask;
        Device device = keys[0].device;
        // SDPA's built-in causal mask cannot be shifted past the prefix columns: spell it out.
        if (mask is null && IsCausal) mask = ones(new[] { length, length }, ScalarType.Bool, device).tril();
        if (mask is not null)
        {
            long[] shape = mask.shape.ToArray();
            shape[^1] = p;
            Tensor lead = mask.dtype == ScalarType.Bool ? ones(shape, ScalarType.Bool, device) : zeros(shape, mask.dtype, device);
            mask = cat(new[] { lead, mask }, -1);
        }
        // With no mask (one query over the whole cache) everything, the prefix included, is visible already.
        return new AttentionInputs { Mask = mask, RopeCos = RopeCos, RopeSin = RopeSin, PrefixKeys = keys, PrefixValues = values };
    }

    /// <summary>Query position − key position, [T, start+T], for queries start … start+T−1 over keys 0 … start+T−1.</summary>
    public static Tensor Distance(long start, long length, Device device) =>
        arange(start, start + length, dtype: ScalarType.Int64, device: device).unsqueeze(1)
        - arange(0, start + length, dtype: ScalarType.Int64, device: device).unsqueeze(0);
}
