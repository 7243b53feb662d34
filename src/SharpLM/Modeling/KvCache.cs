using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// Keys and values of every layer for the positions already processed, so that generating one more token costs
/// one position's work instead of the whole prefix. Buffers are filled in place and grow by doubling up to the
/// context length (an imported Llama 3.1 has a 131,072-token context: preallocating it would take gigabytes for a
/// short chat); <see cref="DecodingState.Length"/> says how many positions are valid.
/// </summary>
public sealed class KvCache : DecodingState, IKeyValueCache
{
    readonly Tensor[] keys, values;

    /// <summary>Positions allocated before the first growth.</summary>
    const int InitialPositions = 256;

    /// <summary>
    /// Zeroed key and value buffers [batch, kv_heads, positions, head_dim] for each of the config's layers, of
    /// <paramref name="dtype"/> on <paramref name="device"/>, for up to 256 positions at first.
    /// </summary>
    public KvCache(ModelConfig config, long batch, Device device, ScalarType dtype)
    {
        Capacity = config.BlockSize;
        keys = new Tensor[config.NLayer];
        values = new Tensor[config.NLayer];
        long positions = Math.Min(Capacity, InitialPositions);
        for (int i = 0; i < config.NLayer; i++)
        {
            // Created outside any step's dispose scope and detached from it: the cache outlives each step.
            keys[i] = zeros(new long[] { batch, config.KvHeads, positions, config.HeadDim }, dtype, device).DetachFromDisposeScope();
            values[i] = zeros(new long[] { batch, config.KvHeads, positions, config.HeadDim }, dtype, device).DetachFromDisposeScope();
        }
    }

    /// <summary>Positions the cache can hold: the config's block_size.</summary>
    public int Capacity { get; }

    /// <summary>Makes room for <paramref name="needed"/> positions in one layer's buffers: double (at most to <see cref="Capacity"/>) and copy.</summary>
    internal static Tensor Grown(Tensor buffer, long needed, long capacity, long valid)
    {
        long size = buffer.shape[2];
        if (needed <= size) return buffer;
        long grown = Math.Min(capacity, Math.Max(needed, 2 * size));
        var bigger = zeros(new long[] { buffer.shape[0], buffer.shape[1], grown, buffer.shape[3] }, buffer.dtype, buffer.device).DetachFromDisposeScope();
        using (var kept = bigger.narrow(2, 0, valid)) kept.copy_(buffer.narrow(2, 0, valid));
        buffer.Dispose();
        return bigger;
    }

    /// <summary>Appends <paramref name="k"/>/<paramref name="v"/> ([B, H, T, D]) at the current length for one layer and returns all cached keys and values.</summary>
    (Tensor Keys, Tensor Values) IKeyValueCache.Append(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2];
        if (Length + t > Capacity) throw new InvalidOperationException($"KV cache overflow: {Length} + {t} > {Capacity}");
        keys[layer] = Grown(keys[layer], Length + t, Capacity, Length);
        values[layer] = Grown(values[layer], Length + t, Capacity, Length);
        keys[layer].narrow(2, Length, t).copy_(k);
        values[layer].narrow(2, Length, t).copy_(v);
        return (keys[layer].narrow(2, 0, Length + t), values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>
    /// The token embeddings [B, taps, C] of the last positions fed, for a model with <see cref="ModelConfig.TokenShift"/>
    /// (the next tokens mix them in); null until then.
    /// </summary>
    internal Tensor? LastEmbeddings
    {
        get => lastEmbeddings;
        set
        {
            lastEmbeddings?.Dispose();
            // Kept across steps like the key and value buffers.
            lastEmbeddings = value?.detach().clone().DetachFromDisposeScope();
        }
    }
    Tensor? lastEmbeddings;

    /// <summary>Called once per forward pass, after every layer has appended its <paramref name="t"/> new positions.</summary>
    internal void Advance(int t) => Length += t;

    /// <summary>
    /// Forgets every position from <paramref name="length"/> on (speculative decoding drops the draft tokens the target
    /// rejected); the buffers are overwritten by what is fed next.
    /// </summary>
    /// <exception cref="InvalidOperationException">The cache holds token-shift embeddings, which cannot be rewound.</exception>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length), $"cannot truncate a {Length}-position cache to {length}");
        if (lastEmbeddings is not null && length != Length) throw new InvalidOperationException("a token-shift model's cache cannot be rewound");
        Length = length;
    }

    /// <summary>Frees the key and value buffers.</summary>
    public override void Dispose()
    {
        foreach (var t in keys) t.Dispose();
        foreach (var t in values) t.Dispose();
        lastEmbeddings?.Dispose();
    }
}

/// <summary>
/// Where attention keeps the keys and values of earlier positions during one forward pass: a sequence's own
/// <see cref="KvCache"/>, or the rows of a <see cref="SlotKvCache"/> that a batched decoding step advances.
/// </summary>
internal interface IKeyValueCache
{
    /// <summary>Stores <paramref name="k"/>/<paramref name="v"/> ([B, kv_heads, T, D]) for <paramref name="layer"/> and returns every key and value the new queries may attend to.</summary>
    (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v);
}
