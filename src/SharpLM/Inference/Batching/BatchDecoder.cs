using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Inference.Batching;

/// <summary>
/// What <see cref="ContinuousBatcher"/> needs from a model: sequences held in numbered slots, a prompt fed into a
/// slot, and one token for each of several slots fed together. <see cref="For"/> picks the implementation: a GPT
/// advances all its slots in one forward pass (<see cref="Gpt.DecodeSlots"/>); any other model keeps one decoding
/// state per slot and advances them one after another, which is still continuous scheduling, without the shared pass.
/// With a <see cref="LoraSet"/> each slot names its adapter, and every pass routes its rows to theirs.
/// Only the batcher's thread calls it.
/// </summary>
public abstract class BatchDecoder : IDisposable
{
    readonly int[] adapterOf;
    readonly LoraSet? adapters;
    readonly Device device;

    BatchDecoder(int slots, LoraSet? adapters, Device device)
    {
        adapterOf = new int[slots];
        this.adapters = adapters;
        this.device = device;
    }

    /// <summary>Sequences held at once.</summary>
    public int Slots => adapterOf.Length;

    /// <summary>LoRA adapters a slot may use (<see cref="Reset"/>); 0 without a <see cref="LoraSet"/>.</summary>
    public int Adapters => adapters?.Count ?? 0;

    /// <summary>Tokens a sequence may hold (prompt and generated).</summary>
    public abstract int ContextLength { get; }

    /// <summary>Most prompt tokens fed in one pass; a longer prompt is fed over several steps, between the others' tokens.</summary>
    public abstract int PrefillChunk { get; }

    /// <summary>True when <see cref="Step"/> runs its slots through one forward pass.</summary>
    public abstract bool SharesPasses { get; }

    /// <summary>Empties <paramref name="slot"/> for a new sequence, computed with LoRA adapter <paramref name="adapter"/> (−1: the base).</summary>
    public void Reset(int slot, int adapter = -1)
    {
        if (adapter < -1 || adapter >= Adapters) throw new ArgumentOutOfRangeException(nameof(adapter), $"adapter {adapter}: there are {Adapters}");
        adapterOf[slot] = adapter;
        Empty(slot);
    }

    /// <summary>Empties <paramref name="slot"/>'s cache or state.</summary>
    protected abstract void Empty(int slot);

    /// <summary>Routes the next pass's rows, which are <paramref name="slots"/> in order, to their slots' adapters.</summary>
    protected void Route(IReadOnlyList<int> slots) => adapters?.Route(slots.Select(s => adapterOf[s]).ToArray(), device);

    /// <summary>Feeds <paramref name="tokens"/> (at most <see cref="PrefillChunk"/>) to <paramref name="slot"/>; the logits after the last one.</summary>
    public abstract float[] Prefill(int slot, ReadOnlySpan<int> tokens);

    /// <summary>Feeds token <paramref name="tokens"/>[i] to slot <paramref name="slots"/>[i]; the logits after each.</summary>
    public abstract float[][] Step(IReadOnlyList<int> slots, IReadOnlyList<int> tokens);

    /// <summary>Frees the slots' caches or states.</summary>
    public abstract void Dispose();

    /// <summary>The decoder for <paramref name="model"/>: shared passes when it is a GPT that can decode in slots.</summary>
    /// <param name="model">The model; it is put in evaluation mode.</param>
    /// <param name="slots">Sequences held at once (the batch size).</param>
    /// <param name="device">Where the model lives.</param>
    /// <param name="prefillChunk">Most prompt tokens per pass.</param>
    /// <param name="adapters">LoRA adapters attached to <paramref name="model"/> (<see cref="LoraSet.Attach"/>), chosen per slot.</param>
    public static BatchDecoder For(LanguageModel model, int slots, Device device, int prefillChunk = 256, LoraSet? adapters = null)
    {
        if (slots < 1) throw new InvalidInputException($"--max-batch {slots}: must be at least 1");
        if (prefillChunk < 1) throw new InvalidInputException($"--prefill-chunk {prefillChunk}: must be at least 1");
        model.eval();
        return model is Gpt gpt && gpt.SlotDecodingRefusal is null && gpt.GetType() == typeof(Gpt)
            ? new SlotDecoder(gpt, slots, device, prefillChunk, adapters)
            : new SequentialDecoder(model, slots, device, adapters);
    }

    /// <summary>Row-wise float copies of logits [B, V].</summary>
    protected static float[][] Rows(Tensor logits)
    {
        using Tensor flat = logits.to(ScalarType.Float32).cpu().contiguous();
        int rows = (int)flat.shape[0], vocab = (int)flat.shape[1];
        float[] all = flat.data<float>().ToArray();
        var result = new float[rows][];
        for (int i = 0; i < rows; i++) result[i] = all.AsSpan(i * vocab, vocab).ToArray();
        return result;
    }

    /// <summary>Token ids as a [rows, n / rows] tensor on <paramref name="device"/>.</summary>
    protected static Tensor Ids(ReadOnlySpan<int> tokens, long rows, Device device)
    {
        var ids = new long[tokens.Length];
        for (int i = 0; i < ids.Length; i++) ids[i] = tokens[i];
        return tensor(ids, new long[] { rows, ids.Length / rows }).to(device);
    }

    /// <summary>A GPT whose slots share a <see cref="SlotKvCache"/> and one forward pass per step.</summary>
    sealed class SlotDecoder(Gpt model, int slots, Device device, int prefillChunk, LoraSet? adapters) : BatchDecoder(slots, adapters, device)
    {
        readonly SlotKvCache cache = new(model.Config, slots, device, model.parameters().First().dtype);

        public override int ContextLength => model.ContextLength;
        public override int PrefillChunk => prefillChunk;
        public override bool SharesPasses => true;

        protected override void Empty(int slot) => cache.Reset(slot);

        public override float[] Prefill(int slot, ReadOnlySpan<int> tokens)
        {
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            Route([slot]);
            return Rows(model.DecodeSlots(Ids(tokens, 1, device), cache, [slot]))[0];
        }

        public override float[][] Step(IReadOnlyList<int> slotIds, IReadOnlyList<int> tokens)
        {
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            Route(slotIds);
            return Rows(model.DecodeSlots(Ids(tokens.ToArray(), tokens.Count, device), cache, slotIds));
        }

        public override void Dispose() => cache.Dispose();
    }

    /// <summary>
    /// Any <see cref="LanguageModel"/>: a decoding state per slot, advanced one slot at a time. The prompt goes in with
    /// the first call, whole, because a prefix decoder and an encoder-decoder read it differently from what follows.
    /// </summary>
    sealed class SequentialDecoder(LanguageModel model, int slots, Device device, LoraSet? adapters) : BatchDecoder(slots, adapters, device)
    {
        readonly DecodingState?[] states = new DecodingState?[slots];

        public override int ContextLength => model.ContextLength;
        public override int PrefillChunk => int.MaxValue;
        public override bool SharesPasses => false;

        protected override void Empty(int slot)
        {
            states[slot]?.Dispose();
            states[slot] = null;
        }

        public override float[] Prefill(int slot, ReadOnlySpan<int> tokens)
        {
            var state = states[slot] ??= model.NewDecodingState(1, device); // outlives the step's scope
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            Route([slot]);
            Tensor output = model.Decode(Ids(tokens, 1, device), state);
            return Rows(output.dim() == 3 ? output[.., -1] : output)[0];
        }

        public override float[][] Step(IReadOnlyList<int> slotIds, IReadOnlyList<int> tokens)
        {
            var result = new float[slotIds.Count][];
            for (int i = 0; i < slotIds.Count; i++) result[i] = Prefill(slotIds[i], [tokens[i]]);
            return result;
        }

        public override void Dispose()
        {
            foreach (var state in states) state?.Dispose();
        }
    }
}
