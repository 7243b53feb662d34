using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// Weight-only int8 quantisation (LLM.int8's absmax per output channel, without its outlier path): each row of a
/// Linear weight is stored as int8 values times one float32 scale, max|w| / 127, so the weights take a quarter of the
/// memory. Made by <see cref="Quantization.Quantize"/> with the "int8" scheme.
/// </summary>
public sealed class Int8Weights : QuantizedWeights
{
    readonly Tensor qweight, scale;

    /// <summary>Quantises <paramref name="weight"/> [out, in].</summary>
    internal Int8Weights(Tensor weight, QuantizationSpec spec) : base(nameof(Int8Weights), weight.shape[0], weight.shape[1], spec)
    {
        using var scope = NewDisposeScope();
        var w = weight.detach().to(ScalarType.Float32);
        var s = w.abs().amax(new long[] { 1 }, keepdim: true).clamp_min(1e-12) / 127.0;
        qweight = (w / s).round().clamp(-127, 127).to(ScalarType.Int8).MoveToOuterDisposeScope();
        scale = s.squeeze(1).MoveToOuterDisposeScope();
        Register();
    }

    /// <summary>Uninitialised storage for an [out, in] layer, to be read from a file.</summary>
    internal Int8Weights(long outFeatures, long inFeatures, QuantizationSpec spec) : base(nameof(Int8Weights), outFeatures, inFeatures, spec)
    {
        qweight = zeros(outFeatures, inFeatures, ScalarType.Int8);
        scale = ones(outFeatures);
        Register();
    }

    void Register()
    {
        register_buffer(nameof(qweight), qweight);
        register_buffer(nameof(scale), scale);
    }

    /// <inheritdoc/>
    public override Tensor Dequantize(ScalarType dtype)
    {
        using var s = scale.to(dtype).unsqueeze(1);
        using var q = qweight.to(dtype);
        return q * s;
    }

    internal override void Validate(string file, string prefix) => RequireFinite(file, $"{prefix}.{nameof(scale)}", scale, positive: true);
}
