using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// The KV caches of many sequences in one buffer per layer, [slots, kv_heads, positions, head_dim], so that one
/// forward pass can advance every sequence a server is generating (continuous batching, as vLLM and llama.cpp's
/// server do). Each sequence owns a slot and its own length; sequences join and leave between passes, and a pass
/// (<see cref="Begin"/>) reads and extends only the slots it names. A sequence's keys never move and its queries
/// see only its own positions, so its logits do not depend on which other sequences share the pass. Buffers grow by
/// doubling, like <see cref="KvCache"/>, up to the context length.
/// </summary>
public sealed class SlotKvCache : IDisposable
{
    readonly Tensor[] keys, values;
    readonly int[] lengths;
    readonly ModelConfig config;
    readonly Device device;

    /// <summary>Zeroed buffers for <paramref name="slots"/> sequences, of <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public SlotKvCache(ModelConfig config, int slots, Device device, ScalarType dtype)
    {
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), "a slot cache needs at least one slot");
        this.config = config;
        this.device = device;
        lengths = new int[slots];
        keys = new Tensor[config.NLayer];
        values = new Tensor[config.NLayer];
        long positions = Math.Min(config.BlockSize, 64);
        for (int i = 0; i < config.NLayer; i++)
        {
            keys[i] = zeros(new long[] { slots, config.KvHeads, positions, config.HeadDim }, dtype, device).DetachFromDisposeScope();
            values[i] = zeros(new long[] { slots, config.KvHeads, positions, config.HeadDim }, dtype, device).DetachFromDisposeScope();
        }
    }

    /// <summary>Sequences the cache holds at once.</summary>
    public int Slots => lengths.Length;

    /// <summary>Positions each slot can hold: the config's block_size.</summary>
    public int Capacity => config.BlockSize;

    /// <summary>Positions <paramref name="slot"/> holds.</summary>
    public int Length(int slot) => lengths[slot];

    /// <summary>Empties <paramref name="slot"/> for a new sequence (its old keys are overwritten as the new one fills it).</summary>
    public void Reset(int slot) => lengths[slot] = 0;

    /// <summary>Positions allocated per slot now (grows by doubling).</summary>
    internal long Allocated => keys[0].shape[2];

    /// <summary>
    /// A forward pass that feeds <paramref name="newTokens"/> tokens to each of <paramref name="slots"/> (distinct): the
    /// positions of those tokens and the mask that lets each query see its own sequence's earlier positions only.
    /// </summary>
    /// <exception cref="InvalidOperationException">A slot would outgrow the context.</exception>
    internal Pass Begin(IReadOnlyList<int> slots, int newTokens)
    {
        int longest = 0;
        foreach (int s in slots)
        {
            if (lengths[s] + newTokens > Capacity) throw new InvalidOperationException($"KV cache slot {s} overflow: {lengths[s]} + {newTokens} > {Capacity}");
            longest = Math.Max(longest, lengths[s] + newTokens);
        }
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = KvCache.Grown(keys[i], longest, Capacity, keys[i].shape[2]);
            values[i] = KvCache.Grown(values[i], longest, Capacity, values[i].shape[2]);
        }
        return new Pass(this, slots.ToArray(), newTokens, (int)keys[0].shape[2]);
    }

    /// <summary>Counts the pass's tokens into each slot's length, once every layer has stored them.</summary>
    internal void Advance(Pass pass)
    {
        foreach (int s in pass.SlotIds) lengths[s] += pass.NewTokens;
    }

    /// <summary>Frees the buffers.</summary>
    public void Dispose()
    {
        foreach (var t in keys) t.Dispose();
        foreach (var t in values) t.Dispose();
    }

    /// <summary>One forward pass's view of the cache: the rows it advances, as attention sees them.</summary>
    internal sealed class Pass : IKeyValueCache
    {
        readonly SlotKvCache cache;
        readonly Tensor slotIndex, positionIndex;
        readonly int firstSlot = -1; // slots are a consecutive run first … first+B−1 in order: rows are a narrow view, not a gathered copy

        public Pass(SlotKvCache cache, int[] slots, int newTokens, int keyLength)
        {
            this.cache = cache;
            SlotIds = slots;
            NewTokens = newTokens;
            KeyLength = keyLength;
            if (slots.Select((s, i) => s - i).Distinct().Count() == 1) firstSlot = slots[0];
            var device = cache.device;
            slotIndex = tensor(slots.Select(s => (long)s).ToArray(), ScalarType.Int64, device);
            var starts = slots.Select(s => (long)cache.lengths[s]).ToArray();
            positionIndex = tensor(starts, ScalarType.Int64, device);
            // [B, T]: each row continues from its own length.
            Positions = positionIndex.unsqueeze(1) + arange(newTokens, ScalarType.Int64, device).unsqueeze(0);
            // Query at position p sees keys 0 … p of its own row (and only the last W with a sliding window); the
            // columns past a shorter row's end are padding that no query of that row can see.
            Tensor key = arange(keyLength, ScalarType.Int64, device).view(1, 1, 1, keyLength);
            Tensor query = Positions.view(slots.Length, 1, newTokens, 1);
            Tensor visible = key <= query;
            if (cache.config.SlidingWindow > 0) visible = visible.logical_and(query - key < cache.config.SlidingWindow);
            Visible = visible;
        }

        public int[] SlotIds { get; }
        public int NewTokens { get; }

        /// <summary>
        /// Key positions the pass attends over: every allocated position, not only up to the longest slot's length.
        /// The mask hides the rest, and a consecutive run of slots is then a contiguous view of the buffer; narrowing
        /// the positions would make it strided (measured: a 16-row step of the 0.8M-parameter bench model took twice as
        /// long that way, most likely because attention copies strided keys and values).
        /// </summary>
        public long KeyLength { get; }

        /// <summary>Absolute positions of the new tokens, [B, T].</summary>
        public Tensor Positions { get; }

        /// <summary>Which keys each query may see, [B, 1, T, KeyLength].</summary>
        public Tensor Visible { get; }

        public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
        {
            Store(cache.keys[layer], k);
            Store(cache.values[layer], v);
            return (Rows(cache.keys[layer]), Rows(cache.values[layer]));
        }

        void Store(Tensor buffer, Tensor fresh)
        {
            if (NewTokens == 1)
            {
                // One token per row: a single scatter at (slot, :, position, :).
                buffer.index_put_(fresh.squeeze(2), TensorIndex.Tensor(slotIndex), TensorIndex.Colon, TensorIndex.Tensor(positionIndex));
                return;
            }
            for (int b = 0; b < SlotIds.Length; b++)
                using (var target = buffer[SlotIds[b]].narrow(1, cache.lengths[SlotIds[b]], NewTokens))
                    target.copy_(fresh[b]);
        }

        Tensor Rows(Tensor buffer) =>
            firstSlot >= 0 ? buffer.narrow(0, firstSlot, SlotIds.Length) : buffer.index_select(0, slotIndex);
    }
}
