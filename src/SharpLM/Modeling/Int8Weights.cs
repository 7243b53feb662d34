using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling;

/// <summary>
/// Weight-only int8 quantisation for inference (LLM.int8's absmax per output channel, without its outlier path):
/// each row of a Linear weight is stored as int8 values times one float32 scale, max|w| / 127, so the weights take
/// a quarter of the memory. The layer keeps its place and bias; its float weight is dropped, and
/// <see cref="LinearDeltas.Forward"/> computes through the int8 copy, dequantised for each product (activations
/// stay in float). Made by <see cref="Quantize"/>; a quantised model is for inference, not training or saving.
/// </summary>
public sealed class Int8Weights : nn.Module
{
    readonly Tensor weight_int8, scale;

    Int8Weights(Tensor weight) : base(nameof(Int8Weights))
    {
        using var scope = NewDisposeScope();
        var w = weight.detach().to(ScalarType.Float32);
        var s = w.abs().amax(new long[] { 1 }, keepdim: true).clamp_min(1e-12) / 127.0;
        weight_int8 = (w / s).round().clamp(-127, 127).to(ScalarType.Int8).MoveToOuterDisposeScope();
        scale = s.squeeze(1).MoveToOuterDisposeScope();
        register_buffer(nameof(weight_int8), weight_int8);
        register_buffer(nameof(scale), scale);
    }

    /// <summary>The layer's output for <paramref name="x"/> through the int8 weight (and the layer's own bias).</summary>
    internal Tensor Forward(Tensor x, Tensor? bias)
    {
        using var w = weight_int8.to(x.dtype) * scale.to(x.dtype).unsqueeze(1);
        return F.linear(x, w, bias);
    }

    /// <summary>Bytes the quantised weight takes (int8 values and scales).</summary>
    public long Bytes => weight_int8.numel() + scale.numel() * 4;

    /// <summary>
    /// Quantises every Linear layer of the decoder <paramref name="model"/> (attention, MLP, an untied output head; the embeddings
    /// and norms stay float) in place, freeing their float weights. Returns the bytes of weights before and after.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is already quantised, or carries an adapter.</exception>
    public static (long Before, long After) Quantize(Gpt model)
    {
        if (model.modules().OfType<Int8Weights>().Any()) throw new InvalidOperationException("the model is already quantised");
        if (model.modules().Any(m => m is ILinearDelta)) throw new InvalidOperationException("merge or drop the adapter before quantising (its deltas read the float weight)");
        long before = model.parameters().Sum(p => p.numel() * p.ElementSize), saved = 0;
        using var _ = no_grad();
        foreach (var linear in model.modules().OfType<Linear>().ToList())
        {
            var q = new Int8Weights(linear.weight!);
            q.to(linear.weight!.device);
            linear.register_module("int8", q);
            saved += linear.weight!.numel() * linear.weight.ElementSize - q.Bytes;
            // Drop the float weight: the layer keeps a 0-element placeholder, and forward goes through the int8 copy.
            linear.weight = new Parameter(empty(0, dtype: linear.weight.dtype, device: linear.weight.device), requires_grad: false);
        }
        model.eval();
        return (before, before - saved);
    }
}
