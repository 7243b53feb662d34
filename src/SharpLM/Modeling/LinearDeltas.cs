using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// Something added to a Linear layer's output, y = W·x + b + Δ(x): how LoRA adapts a projection without replacing
/// the layer, so the base weights keep their state-dict keys ("h.0.attn.c_attn.weight") and every caller stays as
/// it is. A delta is registered as a child module of the Linear it adapts, so its parameters are named after that
/// layer ("h.0.attn.c_attn.lora.lora_A").
/// </summary>
public interface ILinearDelta
{
    /// <summary>
    /// <paramref name="output"/> (the base layer's output for <paramref name="input"/>) with this delta added; a
    /// delta merged into the weight returns it unchanged.
    /// </summary>
    Tensor Apply(Tensor input, Tensor output);
}

/// <summary>The one way modules call their Linear layers, so that deltas attached to a layer (and a quantised copy of its weight, <see cref="QuantizedWeights"/>, or a lower compute precision, <see cref="ComputePrecision"/>) take part.</summary>
public static class LinearDeltas
{
    /// <summary><paramref name="layer"/>'s output for <paramref name="x"/>, plus the delta of every <see cref="ILinearDelta"/> attached to it.</summary>
    public static Tensor Forward(Linear layer, Tensor x)
    {
        Tensor? y = null;
        foreach (var child in layer.children())
        {
            if (child is QuantizedWeights quantised) y = quantised.Forward(x, layer.bias); // a quantised layer computes through its stored copy
            else if (child is ComputePrecision precision && x.dtype != precision.Dtype) y = precision.Forward(layer, x); // bf16 mixed precision
        }
        y ??= layer.forward(x);
        foreach (var child in layer.children())
            if (child is ILinearDelta delta) y = delta.Apply(x, y);
        return y;
    }
}
