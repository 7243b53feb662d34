using static TorchSharp.torch;

namespace SharpLM.Modeling;

/// <summary>
/// Weight-only int4 quantisation, group-wise and asymmetric (llama.cpp's Q4_1 layout in spirit): each row of a Linear
/// weight is cut into groups of <see cref="QuantizationSpec.GroupSize"/> input columns, and each group is stored as
/// 4-bit codes q ∈ 0…15 with a float32 scale and offset, w ≈ offset + q · scale, where offset is the group's minimum
/// and scale its range / 15 — so every element is within scale / 2 of its original, and no level is spent outside
/// the group's range (symmetric absmax spends levels on values a lopsided group never takes). Two codes share a byte
/// (<see cref="Pack"/>): the weights take half a byte each plus 8 bytes of scale and offset per group (0.625 bytes
/// per weight at group 64, against int8's 1 and float32's 4). The scales stay float32 rather than float16 so the
/// scale / 2 bound holds exactly; at group 64 they are a fifth of the bytes. Each product dequantises the whole
/// weight first (no int4 × float kernel reaches TorchSharp), so on CPU this saves memory, not time.
/// <para>When the input width is not a multiple of the group size, the last group of each row is padded with
/// copies of the row's last value (which leaves its range unchanged); the padding is stored and dropped again by
/// <see cref="Dequantize"/>.</para>
/// </summary>
public sealed class Int4Weights : QuantizedWeights
{
    /// <summary>The group size used when none is given.</summary>
    public const int DefaultGroupSize = 64;

    readonly Tensor qweight, scale, offset;

    /// <summary>Groups per row: the input width over the group size, rounded up.</summary>
    public long Groups { get; }

    /// <summary>Quantises <paramref name="weight"/> [out, in].</summary>
    internal Int4Weights(Tensor weight, QuantizationSpec spec) : base(nameof(Int4Weights), weight.shape[0], weight.shape[1], spec)
    {
        Groups = GroupsFor(InFeatures, spec.GroupSize);
        using var scope = NewDisposeScope();
        var w = weight.detach().to(ScalarType.Float32);
        long padded = Groups * spec.GroupSize;
        if (padded > InFeatures) w = cat([w, w.narrow(1, InFeatures - 1, 1).expand(OutFeatures, padded - InFeatures)], 1);
        var g = w.reshape(OutFeatures, Groups, spec.GroupSize);
        var lo = g.amin(new long[] { 2 }, keepdim: true);
        var s = ((g.amax(new long[] { 2 }, keepdim: true) - lo) / 15.0).clamp_min(1e-30);
        var q = ((g - lo) / s).round().clamp(0, 15).to(ScalarType.Byte).reshape(OutFeatures, padded);
        qweight = Pack(q).MoveToOuterDisposeScope();
        scale = s.squeeze(2).MoveToOuterDisposeScope();
        offset = lo.squeeze(2).MoveToOuterDisposeScope();
        Register();
    }

    /// <summary>Uninitialised storage for an [out, in] layer, to be read from a file.</summary>
    internal Int4Weights(long outFeatures, long inFeatures, QuantizationSpec spec) : base(nameof(Int4Weights), outFeatures, inFeatures, spec)
    {
        Groups = GroupsFor(inFeatures, spec.GroupSize);
        qweight = zeros(outFeatures, Groups * spec.GroupSize / 2, ScalarType.Byte);
        scale = ones(outFeatures, Groups);
        offset = zeros(outFeatures, Groups);
        Register();
    }

    static long GroupsFor(long inFeatures, int groupSize) => (inFeatures + groupSize - 1) / groupSize;

    void Register()
    {
        register_buffer(nameof(qweight), qweight);
        register_buffer(nameof(scale), scale);
        register_buffer(nameof(offset), offset);
    }

    /// <summary>
    /// Codes [rows, 2n] (bytes holding 0…15) packed two to a byte, [rows, n]: byte j of a row holds code j in its low
    /// nibble and code j + n in its high nibble, so unpacking is two contiguous half-rows side by side rather than an
    /// interleave (libtorch's interleaving copy cost more than the rest of a small layer's dequantisation).
    /// </summary>
    public static Tensor Pack(Tensor codes)
    {
        if (codes.dtype != ScalarType.Byte || codes.dim() != 2 || codes.shape[1] % 2 != 0)
            throw new ArgumentException($"int4 codes must be a [rows, even columns] byte tensor, not {codes.dtype} [{string.Join(", ", codes.shape)}]");
        long half = codes.shape[1] / 2;
        using var low = codes.narrow(1, 0, half);
        using var high = codes.narrow(1, half, half);
        using var shifted = high * 16;
        return low + shifted;
    }

    /// <summary>The inverse of <see cref="Pack"/>: bytes [rows, n] to codes [rows, 2n].</summary>
    public static Tensor Unpack(Tensor packed)
    {
        using var low = packed.bitwise_and(15);
        using var high = packed.bitwise_right_shift(4);
        return cat([low, high], 1);
    }

    /// <inheritdoc/>
    public override Tensor Dequantize(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        // The float codes are a fresh tensor, so the scale and offset are applied in place (a third fewer passes).
        var w = Unpack(qweight).to(dtype).view(OutFeatures, Groups, Spec.GroupSize)
            .mul_(scale.to(dtype).unsqueeze(2)).add_(offset.to(dtype).unsqueeze(2)).view(OutFeatures, Groups * Spec.GroupSize);
        if (Groups * Spec.GroupSize > InFeatures) w = w.narrow(1, 0, InFeatures);
        return w.MoveToOuterDisposeScope();
    }

    internal override void Validate(string file, string prefix)
    {
        RequireFinite(file, $"{prefix}.{nameof(scale)}", scale, positive: true);
        RequireFinite(file, $"{prefix}.{nameof(offset)}", offset, positive: false);
    }
}
