using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace SharpLM.Distributed;

/// <summary>MPI reads and writes memory, not tensors: a span over a tensor's own storage, without a copy.</summary>
internal static unsafe class TensorMemory
{
    /// <summary>
    /// The values of <paramref name="t"/> as a span over its storage: writes through the span change the tensor.
    /// TorchSharp has no public data pointer (its <c>bytes</c> and <c>data&lt;T&gt;()</c> go through copies or
    /// accessors), so this asks its native glue for the address, as TorchSharp does internally. It must be a contiguous float32 tensor on the CPU, and stay alive while the span is used.
    /// </summary>
    /// <exception cref="ArgumentException">It is not.</exception>
    public static Span<float> Floats(Tensor t)
    {
        if (t.dtype != ScalarType.Float32 || t.device.type != TorchSharp.DeviceType.CPU || !t.is_contiguous())
            throw new ArgumentException($"MPI needs a contiguous float32 CPU tensor, not {t.dtype} on {t.device} (contiguous: {t.is_contiguous()})");
        return new Span<float>((void*)THSTensor_data(t.Handle), checked((int)t.numel()));
    }

    [DllImport("LibTorchSharp")] static extern nint THSTensor_data(nint handle);
}
