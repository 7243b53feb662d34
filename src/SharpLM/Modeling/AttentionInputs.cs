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

    /// <param name="positionBias">ALiBi or T5 biases [1, H, T, start+T], or null.</param>
    /// <param name="visible">
    /// Which keys each query may see (boolean, [T, start+T] or [B, 1, T, start+T]) when that is not the causal
    /// rule: a prefix decoder's prefix or an encoder (<see cref="Architectures.AttentionMasks"/>); null = causal.
    /// </param>
    public static AttentionInputs Create(ModelConfig config, long start, long length, Tensor? positionBias, Device device, ScalarType dtype, Tensor? visible = null)
    {
        Tensor? cos = null, sin = null;
        if (config.PositionEncoding == "rope")
            (cos, sin) = RotaryEmbedding.Angles(start, length, config.HeadDim, config.RopeBase, device);

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

    /// <summary>Query position − key position, [T, start+T], for queries start … start+T−1 over keys 0 … start+T−1.</summary>
    public static Tensor Distance(long start, long length, Device device) =>
        arange(start, start + length, dtype: ScalarType.Int64, device: device).unsqueeze(1)
        - arange(0, start + length, dtype: ScalarType.Int64, device: device).unsqueeze(0);
}
