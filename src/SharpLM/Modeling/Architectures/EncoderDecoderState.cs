using static TorchSharp.torch;

namespace SharpLM.Modeling.Architectures;

/// <summary>
/// What an <see cref="EncoderDecoder"/> remembers while decoding: the cross-attention keys and values of the
/// encoded prompt (computed once, on the first <see cref="LanguageModel.Decode"/> call) and the decoder's
/// self-attention KV cache.
/// </summary>
public sealed class EncoderDecoderState : DecodingState
{
    (Tensor Keys, Tensor Values)[]? memory;

    internal EncoderDecoderState(ModelConfig config, long batch, Device device, ScalarType dtype) =>
        SelfAttention = new KvCache(config, batch, device, dtype);

    /// <summary>The decoder's self-attention cache; its length is the decoder positions fed (start token included).</summary>
    internal KvCache SelfAttention { get; }

    /// <summary>Per decoder layer, the keys and values of the encoder output; null until the prompt is encoded.</summary>
    internal (Tensor Keys, Tensor Values)[]? Memory => memory;

    /// <summary>Keeps the encoded prompt's keys and values; detached from the caller's dispose scope, as they outlive the step.</summary>
    internal void Encoded((Tensor Keys, Tensor Values)[] keysValues, int promptLength)
    {
        foreach (var (k, v) in keysValues)
        {
            k.DetachFromDisposeScope();
            v.DetachFromDisposeScope();
        }
        memory = keysValues;
        Length = promptLength;
    }

    internal void Fed(int tokens) => Length += tokens;

    /// <summary>Forgets the encoded prompt (freeing its keys and values) and empties the self-attention cache.</summary>
    public override void Clear()
    {
        base.Clear();
        SelfAttention.Clear();
        DisposeMemory();
    }

    void DisposeMemory()
    {
        if (memory is null) return;
        foreach (var (k, v) in memory)
        {
            k.Dispose();
            v.Dispose();
        }
        memory = null;
    }

    /// <summary>Frees the encoded prompt's keys and values and the self-attention cache.</summary>
    public override void Dispose()
    {
        DisposeMemory();
        SelfAttention.Dispose();
    }
}
