using System.Text;
using System.Text.Json.Nodes;
using SharpLM.Distributed;
using SharpLM.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Training;

/// <summary>
/// Data parallelism over MPI ranks (<c>mpirun -np N sharplm pretrain …</c>), as PyTorch DDP and DeepSpeed do it, on
/// <see cref="Mpi"/>. Every rank holds the whole model and draws the same global batch from the same seeded
/// sampler, then trains on its own rows of it (a disjoint 1/N); the gradients are summed across ranks before the
/// update, so each rank applies the same step. With N = 2 that sum is the one batch sharding already computes in
/// one process (two contributions per value, and IEEE addition is commutative), so the weights are bit-identical to
/// a 2-thread run of the same global batch.
/// <para>
/// ZeRO (Rajbhandari et al.) removes the redundancy in what each rank stores. Stage 1 shards the optimizer state:
/// gradients are all-reduced, each rank updates only its 1/N of the flat parameter buffer with its 1/N of the AdamW
/// moments, and an all-gather gives every rank the new parameters. Stage 2 also shards the reduced gradient: a
/// reduce-scatter leaves each rank only the sum for its shard (half an all-reduce's traffic). Both give exactly the
/// plain data-parallel weights: shards hold whole norm blocks on 64-value boundaries (<see cref="ContiguousParameters"/>),
/// so every value is updated by the same kernel path and the gradient norm is summed in the same order.
/// </para>
/// <para>
/// Not done here: gradient buckets are reduced after the backward pass, not overlapped with it (TorchSharp exposes no
/// per-parameter gradient hooks), and under ZeRO-2 autograd still accumulates into one full local gradient buffer
/// (DeepSpeed frees each bucket once it is reduced), so ZeRO-2 saves the reduced copy and half the traffic, not the
/// backward's buffer. CPU tensors only (no CUDA-aware MPI).
/// </para>
/// </summary>
public sealed class DataParallel : IDisposable
{
    readonly Mpi mpi;
    readonly long bucketValues;
    Tensor? gradientShard;

    DataParallel(Mpi mpi, int zeroStage, double bucketMb)
    {
        this.mpi = mpi;
        ZeroStage = zeroStage;
        bucketValues = Math.Max(1024, (long)(bucketMb * 1024 * 1024 / sizeof(float)));
    }

    /// <summary>This process's rank; rank 0 writes the run's files.</summary>
    public int Rank => mpi.Rank;
    /// <summary>Ranks in the job.</summary>
    public int Size => mpi.Size;
    /// <summary>0 (plain data parallelism), 1 (optimizer state sharded) or 2 (gradients sharded too).</summary>
    public int ZeroStage { get; }
    /// <summary>True on rank 0, the one that writes checkpoints, metrics and the summary.</summary>
    public bool IsRoot => Rank == 0;
    /// <summary>Parts the flat parameter buffer is split into: the ranks under ZeRO, else 1.</summary>
    public int Shards => ZeroStage > 0 ? Size : 1;

    /// <summary>
    /// Joins the MPI job when this process was started by mpirun; null otherwise (a single-process run).
    /// </summary>
    /// <exception cref="InvalidInputException">ZeRO without mpirun, a batch the ranks cannot split evenly, or a GPU device.</exception>
    public static DataParallel? Join(TrainingConfig t, Device device) =>
        Join(device, t.ZeroStage, t.AllreduceBucketMb, t.Precision, t.BatchSize);

    /// <inheritdoc cref="Join(TrainingConfig, Device)"/>
    /// <param name="device">Where the model lives: the CPU under mpirun.</param>
    /// <param name="zeroStage">0, 1 or 2.</param>
    /// <param name="bucketMb">Size of each gradient all-reduce.</param>
    /// <param name="precision">training.precision (bf16-true is refused).</param>
    /// <param name="batchSize">Rows of every global batch, which must split evenly; null when batches may have any
    /// number of rows (SFT's packed batches: <see cref="Rows"/> then gives a rank fewer, or none).</param>
    public static DataParallel? Join(Device device, int zeroStage = 0, double bucketMb = 25, string precision = "fp32", int? batchSize = null)
    {
        if (!Mpi.Launched)
        {
            if (zeroStage > 0) throw new InvalidInputException($"training.zero_stage {zeroStage} shards the optimizer across MPI ranks: start the run with mpirun -np N");
            return null;
        }
        var mpi = Mpi.Start();
        if (batchSize is int rows && rows % mpi.Size != 0)
            throw new InvalidInputException($"training.batch_size {rows} does not split across {mpi.Size} ranks: use a multiple of {mpi.Size}");
        if (precision == "bf16-true")
            throw new InvalidInputException("training.precision bf16-true: data parallelism over MPI exchanges float32 buffers; use bf16-mixed under mpirun");
        if (device.type != DeviceType.CPU)
            throw new InvalidInputException($"training.device {device}: data parallelism over MPI exchanges CPU tensors; run each rank on the CPU");
        return new DataParallel(mpi, zeroStage, bucketMb);
    }

    /// <summary>
    /// Stops every rank with the same error when the ranks were not started alike: each rank's description of its run
    /// (the config as JSON, what it resumes) is compared with rank 0's, naming the first field that differs.
    /// </summary>
    /// <exception cref="InvalidInputException">A rank's run differs from rank 0's.</exception>
    public void RequireSameRun(JsonObject description)
    {
        byte[][] all = mpi.AllGatherBytes(Encoding.UTF8.GetBytes(description.ToJsonString()));
        var root = JsonNode.Parse(all[0])!;
        for (int r = 1; r < all.Length; r++)
        {
            if (FirstDifference(root, JsonNode.Parse(all[r]), "") is { } field)
                throw new InvalidInputException($"rank {r} was started with {field.Path} = {field.Other}, rank 0 with {field.Root}: start every rank with the same command and data");
        }
    }

    static (string Path, string Root, string Other)? FirstDifference(JsonNode? a, JsonNode? b, string path)
    {
        if (a is JsonObject oa && b is JsonObject ob)
        {
            foreach (var (key, value) in oa)
                if (FirstDifference(value, ob[key], path.Length == 0 ? key : $"{path}.{key}") is { } d) return d;
            foreach (var (key, value) in ob)
                if (!oa.ContainsKey(key)) return (path.Length == 0 ? key : $"{path}.{key}", "(absent)", value?.ToJsonString() ?? "null");
            return null;
        }
        return JsonNode.DeepEquals(a, b) ? null : (path, a?.ToJsonString() ?? "null", b?.ToJsonString() ?? "null");
    }

    /// <summary>Rank 0's parameters copied to every rank (weights initialised on different hosts could differ in the last bit).</summary>
    public void Broadcast(ContiguousParameters parameters) => mpi.Broadcast(TensorMemory.Span(parameters.Data, 0, parameters.Data.numel()), 0);

    /// <summary>This rank's rows of a global batch: a contiguous 1/N of them.</summary>
    public (Tensor X, Tensor Y) Part(Tensor x, Tensor y)
    {
        long rows = x.shape[0] / Size;
        return (x.narrow(0, Rank * rows, rows), y.narrow(0, Rank * rows, rows));
    }

    /// <summary>This rank's share of a batch of <paramref name="rows"/> rows that need not split evenly: ⌈rows/N⌉ each in
    /// rank order, so the last ranks may get fewer or none (a rank with none still joins every collective).</summary>
    public (long Start, long Count) Rows(long rows)
    {
        long each = (rows + Size - 1) / Size, start = Math.Min(rows, Rank * each);
        return (start, Math.Min(each, rows - start));
    }

    /// <summary>The sum of every rank's <paramref name="value"/>.</summary>
    public double Sum(double value)
    {
        Span<double> v = [value];
        mpi.AllReduceSum(v);
        return v[0];
    }

    /// <summary>The largest of every rank's <paramref name="value"/>.</summary>
    public double Max(double value)
    {
        Span<double> v = [value];
        mpi.AllReduceMax(v);
        return v[0];
    }

    /// <summary>
    /// Each rank fills the entries it computed and leaves the others 0; returns everyone's entries. Exact: every entry
    /// is one rank's value plus zeros.
    /// </summary>
    public double[] Combine(double[] mine)
    {
        var all = (double[])mine.Clone();
        mpi.AllReduceSum(all);
        return all;
    }

    /// <summary>True for the entries of a list (evaluation batches) this rank computes: every N-th, from its rank.</summary>
    public bool Owns(int index) => index % Size == Rank;

    /// <summary>The part of the flat buffer this rank's optimizer owns under ZeRO; null (all of it) without.</summary>
    public (long Start, long Length)? OptimizerShard(ContiguousParameters parameters)
    {
        if (ZeroStage == 0) return null;
        long shard = parameters.Data.numel() / Size;
        return (Rank * shard, shard);
    }

    /// <summary>
    /// Sums the gradients of every rank: all-reduced bucket by bucket (plain and ZeRO-1), or reduce-scattered so each
    /// rank keeps only its shard's sum (ZeRO-2).
    /// </summary>
    public void ReduceGradients(ContiguousParameters parameters)
    {
        Tensor grad = parameters.Grad;
        long total = grad.numel();
        if (ZeroStage < 2)
        {
            for (long at = 0; at < total; at += bucketValues)
                mpi.AllReduceSum(TensorMemory.Span(grad, at, Math.Min(bucketValues, total - at)));
            return;
        }
        long shard = total / Size;
        gradientShard ??= zeros(shard, ScalarType.Float32).DetachFromDisposeScope();
        mpi.ReduceScatterSum(TensorMemory.Span(grad, 0, total), TensorMemory.Span(gradientShard, 0, shard));
    }

    /// <summary>
    /// Clips the summed gradient to <paramref name="maxNorm"/> (global L2 norm); returns the norm. Under ZeRO-2 each rank
    /// sums the squares of its own norm blocks and the per-block sums are combined, so the norm is the one process's.
    /// </summary>
    public double ClipGradNorm(ContiguousParameters parameters, double maxNorm)
    {
        if (ZeroStage < 2) return parameters.ClipGradNorm(maxNorm); // every rank holds the whole summed gradient
        long shard = gradientShard!.numel();
        var blocks = new double[parameters.Data.numel() / ContiguousParameters.NormBlock];
        int first = checked((int)(Rank * shard / ContiguousParameters.NormBlock));
        ContiguousParameters.BlockSquares(gradientShard, 0, shard, blocks.AsSpan(first, (int)(shard / ContiguousParameters.NormBlock)));
        double sum = 0;
        foreach (double b in Combine(blocks)) sum += b;
        double norm = Math.Sqrt(sum);
        double coefficient = ContiguousParameters.ClipCoefficient(norm, maxNorm);
        if (coefficient < 1) gradientShard.mul_(coefficient);
        return norm;
    }

    /// <summary>One optimizer step: the whole buffer (plain), or this rank's shard followed by an all-gather of the
    /// updated parameters (ZeRO).</summary>
    public void Step(ContiguousParameters parameters, FlatAdamW optimizer)
    {
        optimizer.Step(ZeroStage == 2 ? gradientShard : null);
        if (ZeroStage > 0) mpi.AllGatherInPlace(TensorMemory.Span(parameters.Data, 0, parameters.Data.numel()));
    }

    /// <summary>The optimizer state to checkpoint: the optimizer itself, or (ZeRO) every rank's shard gathered.
    /// A collective: every rank calls it.</summary>
    public Checkpoints.IOptimizerState ForCheckpoint(FlatAdamW optimizer) =>
        ZeroStage == 0 ? optimizer : optimizer.Gathered(shard =>
        {
            var full = zeros(shard.numel() * Size, ScalarType.Float32);
            mpi.AllGather(TensorMemory.Span(shard, 0, shard.numel()), TensorMemory.Span(full, 0, full.numel()));
            return full;
        });

    /// <summary>Every rank's string, in rank order.</summary>
    public string[] Gather(string mine) => mpi.AllGatherBytes(Encoding.UTF8.GetBytes(mine)).Select(Encoding.UTF8.GetString).ToArray();

    /// <summary>Waits for every rank (after rank 0 wrote a checkpoint the others may read).</summary>
    public void Barrier() => mpi.Barrier();

    /// <summary>Bytes this rank keeps for training state, by kind, for the summary.</summary>
    public MemoryPerRank Memory(ContiguousParameters parameters, FlatAdamW optimizer) => new()
    {
        ParameterBytes = parameters.Data.numel() * sizeof(float),
        GradientBytes = parameters.Grad.numel() * sizeof(float),
        ReducedGradientBytes = parameters.Grad.numel() / (ZeroStage == 2 ? Size : 1) * sizeof(float),
        OptimizerStateBytes = optimizer.StateBytes,
        OptimizerStateBytesUnsharded = 2L * parameters.Count * sizeof(float),
    };

    /// <summary>Frees the gradient shard.</summary>
    public void Dispose() => gradientShard?.Dispose();
}

/// <summary>What one data-parallel rank holds, in bytes (<see cref="DataParallel.Memory"/>).</summary>
public sealed record MemoryPerRank
{
    /// <summary>The flat parameter buffer (every rank holds all parameters up to ZeRO-2).</summary>
    public long ParameterBytes { get; init; }
    /// <summary>The local gradient buffer autograd accumulates into (full size at every stage here).</summary>
    public long GradientBytes { get; init; }
    /// <summary>The summed gradient this rank keeps for its update: all of it, or its shard under ZeRO-2.</summary>
    public long ReducedGradientBytes { get; init; }
    /// <summary>AdamW's two moments held by this rank: all, or 1/N under ZeRO-1/2.</summary>
    public long OptimizerStateBytes { get; init; }
    /// <summary>Both moments of every trainable value, what one process holds.</summary>
    public long OptimizerStateBytesUnsharded { get; init; }
}
