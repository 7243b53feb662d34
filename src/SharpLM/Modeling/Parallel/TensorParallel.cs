using SharpLM.Distributed;
using SharpLM.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling.Parallel;

/// <summary>
/// Megatron-LM tensor parallelism (Shoeybi et al. 2019, §3) over MPI: each rank holds 1/N of every block's attention
/// heads and feed-forward units. The query/key/value projection and the feed-forward's first matrix are split by
/// output rows (column-parallel: each rank computes its own heads and units from the whole input); the attention
/// output projection and the feed-forward's last matrix are split by input columns (row-parallel: each rank's
/// partial product is summed over ranks). Two conjugate operators make this exact: f before a split sublayer
/// (identity forward, all-reduce of the input's gradient backward: each rank's heads contribute part of it) and g
/// after it (all-reduce of the partial outputs forward, identity backward). One all-reduce per sublayer each way;
/// embeddings, norms, biases after g and the output head are replicated and give identical gradients on every rank.
/// <para>A rank's weights are sliced from the whole model's (<see cref="Shard"/>), so a model built from one seed
/// equals the single-process one — the property the check in <c>sharplm mpi parallel</c> measures.</para>
/// </summary>
public sealed class TensorParallel
{
    /// <summary>Tensor parallelism across all ranks of <paramref name="mpi"/>.</summary>
    public TensorParallel(Mpi mpi)
    {
        Mpi = mpi;
        Rank = mpi.Rank;
        Size = mpi.Size;
    }

    internal Mpi Mpi { get; }

    /// <summary>This rank's index among the tensor-parallel ranks: which slice of heads and units it holds.</summary>
    public int Rank { get; }

    /// <summary>Ranks the heads and units are split over.</summary>
    public int Size { get; }

    /// <summary>
    /// Refuses a model whose layers do not split evenly over <paramref name="ranks"/>, naming the config field, and
    /// what this implementation does not split: per-head position biases (ALiBi, T5), dropout (each rank would draw
    /// different masks on replicated activations), and the encoder-decoder's cross-attention.
    /// </summary>
    /// <exception cref="InvalidInputException">The layout is not possible.</exception>
    public static void CheckLayout(ModelConfig config, int ranks)
    {
        void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new InvalidInputException($"tensor parallelism over {ranks} ranks: {field} {problem}");
        }
        Require(config.Type == "transformer" && config.Architecture == "causal_decoder", "architecture", $"must be a causal_decoder transformer, not '{config.Type}' / '{config.Architecture}'");
        Require(config.NHead % ranks == 0, "n_head", $"{config.NHead} does not divide into {ranks} equal shares of heads");
        Require(config.KvHeads % ranks == 0, "n_kv_head", $"{config.KvHeads} key/value heads do not divide into {ranks} equal shares");
        int hidden = FeedForward.HiddenSize(config);
        Require(hidden % ranks == 0, config.MlpHidden > 0 ? "mlp_hidden" : "mlp_ratio", $"gives a feed-forward width of {hidden}, which does not divide into {ranks} equal shares");
        Require(config.PositionEncoding is not ("alibi" or "t5"), "position_encoding", $"'{config.PositionEncoding}' adds a per-head bias, which is not split across ranks here");
        Require(config.Dropout == 0, "dropout", "must be 0 (replicated activations would get different masks on each rank)");
    }

    /// <summary>
    /// This rank's part of <paramref name="full"/>: a model of the same config whose blocks hold only this rank's
    /// heads and units, with every weight copied (or sliced, <see cref="Shard"/>) from the whole model.
    /// </summary>
    public Gpt ShardOf(Gpt full)
    {
        CheckLayout(full.Config, Size);
        var local = new Gpt(full.Config, initialize: false, parallel: this);
        var whole = full.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var _ = no_grad();
        foreach (var (name, p) in local.named_parameters())
        {
            Tensor slice = Shard(name, whole[name], full.Config);
            if (!slice.shape.SequenceEqual(p.shape))
                throw new InvalidOperationException($"{name}: shard [{string.Join(", ", slice.shape)}] does not fit [{string.Join(", ", p.shape)}]");
            p.copy_(slice);
        }
        return local;
    }

    /// <summary>
    /// This rank's slice of the whole model's parameter (or gradient) <paramref name="name"/>: rows of this rank's
    /// heads in the fused Q, K, V projection (its query heads, then its key heads, then its value heads), columns of
    /// those heads in the attention output, rows of its units in the feed-forward's first (and gate) matrix, columns
    /// of them in its last; every other parameter whole. State-dict names, as Megatron's checkpoint converters do.
    /// </summary>
    public Tensor Shard(string name, Tensor whole, ModelConfig config)
    {
        long head = config.HeadDim;
        long q = config.NHead * head / Size, kv = config.KvHeads * head / Size, units = FeedForward.HiddenSize(config) / Size;
        string[] parts = name.Split('.');
        string layer = parts.Length >= 3 ? $"{parts[^3]}.{parts[^2]}" : "", kind = parts[^1];
        return (layer, kind) switch
        {
            ("attn.c_attn", _) => cat(new[]
            {
                whole.narrow(0, Rank * q, q),
                whole.narrow(0, config.NHead * head + Rank * kv, kv),
                whole.narrow(0, (config.NHead + config.KvHeads) * head + Rank * kv, kv),
            }, 0),
            ("attn.c_proj", "weight") => whole.narrow(1, Rank * q, q),
            ("mlp.c_fc" or "mlp.c_gate", _) => whole.narrow(0, Rank * units, units),
            ("mlp.c_proj", "weight") => whole.narrow(1, Rank * units, units),
            _ => whole,
        };
    }

    /// <summary>Megatron's f before a split sublayer: <paramref name="x"/> unchanged, its gradient summed over ranks in backward.</summary>
    public Tensor CopyToShards(Tensor x) => CopyToShardsFunction.apply(x, this);

    /// <summary>Megatron's g after a split sublayer: the partial outputs summed over ranks, the gradient passed through unchanged.</summary>
    public Tensor ReduceFromShards(Tensor x) => ReduceFromShardsFunction.apply(x, this);

    /// <summary>
    /// A row-parallel Linear: this rank's input columns times its slice of the weight, summed over ranks (g), then the
    /// bias once (it is replicated; added before the sum it would count N times).
    /// </summary>
    public Tensor RowParallel(Linear layer, Tensor x)
    {
        Tensor y = ReduceFromShards(F.linear(x, layer.weight!));
        return layer.bias is null ? y : y + layer.bias;
    }

    /// <summary>A contiguous float32 copy of <paramref name="t"/> summed over ranks (MPI works on the copy's memory).</summary>
    internal Tensor AllReduced(Tensor t)
    {
        Tensor sum = t.to(ScalarType.Float32).contiguous().clone();
        Mpi.AllReduceSum(Runtime.TensorMemory.Span(sum));
        return sum.to(t.dtype);
    }

    sealed class CopyToShardsFunction : autograd.SingleTensorFunction<CopyToShardsFunction>
    {
        public override string Name => "TensorParallelCopyToShards";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            ctx.save_data("parallel", vars[1]);
            return ((Tensor)vars[0]).alias();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) =>
            [((TensorParallel)ctx.get_data("parallel")).AllReduced(gradOutput), null!];
    }

    sealed class ReduceFromShardsFunction : autograd.SingleTensorFunction<ReduceFromShardsFunction>
    {
        public override string Name => "TensorParallelReduceFromShards";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) =>
            ((TensorParallel)vars[1]).AllReduced((Tensor)vars[0]);

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) => [gradOutput, null!];
    }
}
