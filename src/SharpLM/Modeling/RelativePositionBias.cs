using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// T5's relative position bias (Raffel et al. 2020, §2.1): a learned scalar per head and per bucket of the
/// query–key distance is added to the attention scores. Buckets are exact for distances below half the buckets,
/// then logarithmic up to relative_max_distance; the decoder is unidirectional, so only distances back count.
/// As in T5, one table is shared by all layers (of one stack: an encoder has its own, bidirectional table).
/// </summary>
public sealed class RelativePositionBias : nn.Module
{
    readonly Embedding relative_attention_bias;
    readonly int buckets, maxDistance;
    readonly bool bidirectional;

    /// <summary>A learned table of one bias per bucket and head (relative_buckets × n_head) for <paramref name="config"/>.</summary>
    /// <param name="config">Supplies n_head, relative_buckets and relative_max_distance.</param>
    /// <param name="bidirectional">An encoder's table: keys after the query get their own buckets (T5's encoder).</param>
    public RelativePositionBias(ModelConfig config, bool bidirectional = false) : base(nameof(RelativePositionBias))
    {
        this.bidirectional = bidirectional;
        buckets = config.RelativeBuckets;
        maxDistance = config.RelativeMaxDistance;
        relative_attention_bias = nn.Embedding(buckets, config.NHead);
        RegisterComponents();
    }

    /// <summary>Biases [1, H, T, start+T] for queries at positions start … start+T−1 over keys 0 … start+T−1.</summary>
    public Tensor Bias(long start, long length, Device device)
    {
        Tensor distance = AttentionInputs.Distance(start, length, device);
        Tensor bucket = bidirectional ? BidirectionalBucket(distance, buckets, maxDistance) : Bucket(distance, buckets, maxDistance);
        return relative_attention_bias.forward(bucket).permute(2, 0, 1).unsqueeze(0);
    }

    /// <summary>
    /// T5's bidirectional bucketing (its encoder): half the buckets for keys at or before the query, half for keys
    /// after it, each bucketed by |distance| as <see cref="Bucket"/> does with half the buckets.
    /// </summary>
    public static Tensor BidirectionalBucket(Tensor distance, int buckets, int maxDistance)
    {
        int half = buckets / 2;
        return Bucket(distance.abs(), half, maxDistance) + (distance < 0).to(ScalarType.Int64) * half;
    }

    /// <summary>T5's unidirectional bucketing of distance = query − key (future keys, negative, fall in bucket 0).</summary>
    public static Tensor Bucket(Tensor distance, int buckets, int maxDistance)
    {
        Tensor n = distance.clamp_min(0);
        int maxExact = buckets / 2;
        Tensor logScaled = (n.clamp_min(maxExact).to(ScalarType.Float32) / maxExact).log()
            / Math.Log((double)maxDistance / maxExact) * (buckets - maxExact);
        Tensor large = (logScaled.to(ScalarType.Int64) + maxExact).clamp_max(buckets - 1);
        return where(n < maxExact, n, large);
    }
}
