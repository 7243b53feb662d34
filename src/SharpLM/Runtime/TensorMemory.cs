using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Runtime;

/// <summary>
/// Zero-copy access to a CPU tensor's values, for code that hands them to native libraries (MPI) or sums them in a
/// fixed order. TorchSharp exposes the pointer only through <c>bytes</c> (an int-sized span); this asks LibTorchSharp
/// for <c>data_ptr()</c> directly, which includes a view's storage offset.
/// </summary>
public static unsafe class TensorMemory
{
    [DllImport("LibTorchSharp")] static extern nint THSTensor_data(nint handle);

    /// <summary>The first value of a contiguous float32 CPU tensor.</summary>
    /// <exception cref="ArgumentException">Another dtype or device, or not contiguous.</exception>
    public static float* Pointer(Tensor t)
    {
        if (t.dtype != ScalarType.Float32 || t.device.type != DeviceType.CPU || !t.is_contiguous())
            throw new ArgumentException($"needs a contiguous float32 CPU tensor, not {t.dtype} on {t.device} (contiguous: {t.is_contiguous()})");
        return (float*)THSTensor_data(t.Handle);
    }

    /// <summary><paramref name="count"/> values of a contiguous float32 CPU tensor from <paramref name="start"/>, as a span over its memory.</summary>
    public static Span<float> Span(Tensor t, long start, long count)
    {
        if (start < 0 || count < 0 || start + count > t.numel()) throw new ArgumentOutOfRangeException(nameof(count), $"[{start}, {start + count}) outside {t.numel()} values");
        return new Span<float>(Pointer(t) + start, checked((int)count));
    }

    /// <summary>All values of a contiguous float32 CPU tensor as a span over its memory: writes change the tensor.
    /// The tensor must stay alive while the span is used.</summary>
    public static Span<float> Span(Tensor t) => Span(t, 0, t.numel());
}
