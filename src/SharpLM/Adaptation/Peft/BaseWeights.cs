using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using SharpLM.Modeling;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft;

/// <summary>
/// The identity of the weights an adapter was trained on: SHA-256 over every base parameter in the model's fixed
/// order — its name, its shape and its values as float32 little-endian. It depends on the weights only (not on a
/// file's framing, device or dtype width up to float32), so the same base loaded from any copy of its checkpoint
/// hashes alike, and a different base (another seed, more training steps, a grown vocabulary) does not.
/// </summary>
public static class BaseWeights
{
    /// <summary>The base weights' SHA-256 as lowercase hex.</summary>
    /// <exception cref="InvalidOperationException"><paramref name="model"/> already has a PEFT method applied.</exception>
    public static string Sha256(Gpt model)
    {
        if (PeftMethod.IsAdapted(model))
            throw new InvalidOperationException("the model already has a parameter-efficient method applied; hash its base before applying one");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            hash.AppendData(Encoding.UTF8.GetBytes(name));
            hash.AppendData(new byte[] { 0 });
            foreach (long d in p.shape) hash.AppendData(BitConverter.GetBytes(d));
            float[] values = p.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
            hash.AppendData(MemoryMarshal.AsBytes(values.AsSpan()));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
