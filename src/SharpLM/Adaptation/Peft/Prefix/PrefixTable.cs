using SharpLM.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft.Prefix;

/// <summary>
/// Plain prefixes: one learned tensor [n_layer, 2, n_kv_head, P, head_dim] holding every layer's prefix keys
/// (index 0) and values (index 1). With grouped-query attention the prefix has n_kv_head heads, like the cache.
/// </summary>
public sealed class PrefixTable : nn.Module, IKeyValuePrefix
{
    readonly Parameter prefix;

    /// <summary>A table holding a copy of <paramref name="initial"/> [n_layer, 2, n_kv_head, P, head_dim] as its
    /// parameter.</summary>
    public PrefixTable(Tensor initial) : base(nameof(PrefixTable))
    {
        prefix = new Parameter(initial.detach().clone().DetachFromDisposeScope());
        RegisterComponents();
    }

    /// <summary>A table of <paramref name="length"/> positions drawn from N(0, init_std) (Li &amp; Liang's plain variant).</summary>
    public static PrefixTable Random(ModelConfig config, int length, Device device, ScalarType dtype)
    {
        using var noGrad = no_grad();
        using var t = randn(new long[] { config.NLayer, 2, config.KvHeads, length, config.HeadDim }, dtype, device).mul_(config.InitStd);
        return new PrefixTable(t);
    }

    /// <summary>Prefix positions P per layer.</summary>
    public int Length => (int)prefix.shape[3];

    internal Parameter Values => prefix;

    /// <summary>Per layer, views of the table's keys and values, each [1, n_kv_head, P, head_dim].</summary>
    public (Tensor[] Keys, Tensor[] Values) Compute()
    {
        long layers = prefix.shape[0];
        var keys = new Tensor[layers];
        var values = new Tensor[layers];
        for (int i = 0; i < layers; i++)
        {
            keys[i] = prefix[i, 0].unsqueeze(0);
            values[i] = prefix[i, 1].unsqueeze(0);
        }
        return (keys, values);
    }
}
