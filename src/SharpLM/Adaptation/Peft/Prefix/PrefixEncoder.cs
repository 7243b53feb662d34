using SharpLM.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft.Prefix;

/// <summary>
/// Li &amp; Liang's re-parameterisation for training: a P × n_embd embedding E and a two-layer MLP,
/// prefix = MLP(E) = W₂·tanh(W₁·E + b₁) + b₂, reshaped into every layer's keys and values. Optimising E and the
/// MLP instead of the prefix directly is what made prefix tuning stable in the paper; after training the MLP is
/// evaluated once and dropped (<see cref="Collapse"/>).
/// </summary>
public sealed class PrefixEncoder : nn.Module, IKeyValuePrefix
{
    readonly Parameter embedding;
    readonly Linear mlp_in, mlp_out;
    readonly int layers, kvHeads, headDim;

    public PrefixEncoder(ModelConfig config, int length, int hiddenSize, Device device, ScalarType dtype) : base(nameof(PrefixEncoder))
    {
        layers = config.NLayer;
        kvHeads = config.KvHeads;
        headDim = config.HeadDim;
        int hidden = hiddenSize == 0 ? config.NEmbd : hiddenSize;
        using (no_grad()) embedding = new Parameter(randn(new long[] { length, config.NEmbd }, dtype, device).DetachFromDisposeScope());
        mlp_in = nn.Linear(config.NEmbd, hidden, device: device, dtype: dtype);
        mlp_out = nn.Linear(hidden, (long)layers * 2 * kvHeads * headDim, device: device, dtype: dtype);
        RegisterComponents();
    }

    public int Length => (int)embedding.shape[0];

    /// <summary>The prefix as one tensor [n_layer, 2, n_kv_head, P, head_dim], as <see cref="PrefixTable"/> holds it.</summary>
    public Tensor Table()
    {
        Tensor flat = mlp_out.forward(mlp_in.forward(embedding).tanh());                  // [P, L·2·H·D]
        return flat.view(Length, layers, 2, kvHeads, headDim).permute(1, 2, 3, 0, 4);    // [L, 2, H, P, D]
    }

    public (Tensor[] Keys, Tensor[] Values) Compute()
    {
        Tensor table = Table();
        var keys = new Tensor[layers];
        var values = new Tensor[layers];
        for (int i = 0; i < layers; i++)
        {
            keys[i] = table[i, 0].unsqueeze(0);
            values[i] = table[i, 1].unsqueeze(0);
        }
        return (keys, values);
    }

    /// <summary>The plain prefix this encoder currently produces.</summary>
    public PrefixTable Collapse()
    {
        using var _ = no_grad();
        using var table = Table().contiguous();
        return new PrefixTable(table);
    }
}
