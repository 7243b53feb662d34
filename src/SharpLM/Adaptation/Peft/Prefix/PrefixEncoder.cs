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

    /// <summary>A fresh encoder: E drawn from N(0, 1), the MLP with nn.Linear's default initialisation.</summary>
    /// <param name="config">The base model's config (layers, KV heads, head and embedding widths).</param>
    /// <param name="length">Prefix positions P.</param>
    /// <param name="hiddenSize">Hidden width of the MLP; 0 means n_embd.</param>
    /// <param name="device">Device of the base's weights.</param>
    /// <param name="dtype">Dtype of the base's weights.</param>
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

    /// <summary>Prefix positions P per layer.</summary>
    public int Length => (int)embedding.shape[0];

    /// <summary>The prefix as one tensor [n_layer, 2, n_kv_head, P, head_dim], as <see cref="PrefixTable"/> holds it.</summary>
    public Tensor Table()
    {
        Tensor flat = mlp_out.forward(mlp_in.forward(embedding).tanh());                  // [P, L·2·H·D]
        return flat.view(Length, layers, 2, kvHeads, headDim).permute(1, 2, 3, 0, 4);    // [L, 2, H, P, D]
    }

    /// <summary>Per layer, the keys and values [1, n_kv_head, P, head_dim] the MLP produces now (with gradients to E
    /// and the MLP).</summary>
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
