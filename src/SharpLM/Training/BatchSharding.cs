using SharpLM.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Training;

/// <summary>
/// Splits each batch in two halves that run forward and backward concurrently, each on its own thread with its
/// own share of the cores. For the small matrices of small models this uses two cores far better than
/// libtorch's intra-op threading, which splits each tiny kernel and pays a synchronisation for each.
/// Gradients of both halves accumulate into the same buffers (libtorch serialises the accumulation per
/// parameter); with exactly two contributions the sum is the same whichever lands first (IEEE addition is
/// commutative), so runs stay bit-reproducible. That argument needs exactly two shards and one micro-batch per
/// step, so other settings fall back to one shard.
/// </summary>
public sealed class BatchSharding
{
    BatchSharding(int shards, int threadsPerShard)
    {
        Shards = shards;
        ThreadsPerShard = threadsPerShard;
    }

    /// <summary>Parts each batch is split into: 2 when sharding, else 1.</summary>
    public int Shards { get; }
    /// <summary>libtorch intra-op threads each shard runs with (half the run's threads when sharding).</summary>
    public int ThreadsPerShard { get; }

    /// <summary>
    /// Two shards when there are at least two threads, an even batch, no accumulation, no dropout (both shards
    /// would draw from libtorch's one generator in a racy order) and a CPU device.
    /// </summary>
    public static BatchSharding Plan(int threads, TrainingConfig t, ModelConfig model, Device device)
    {
        bool possible = threads >= 2 && t.BatchSize % 2 == 0 && t.GradientAccumulationSteps == 1 && model.Dropout == 0
            && device.type == DeviceType.CPU;
        bool on = t.BatchShards switch { 0 => possible, 2 => possible, _ => false };
        if (t.BatchShards == 2 && !possible)
            throw new InvalidInputException("batch_shards 2 needs threads ≥ 2, an even batch_size, gradient_accumulation_steps 1, dropout 0 and a CPU device");
        return on ? new BatchSharding(2, Math.Max(1, threads / 2)) : new BatchSharding(1, threads);
    }

    /// <summary>Forward and backward of <c>scale × mean loss</c> over the batch; returns that scaled loss.</summary>
    public double ForwardBackward(LanguageModel model, Tensor x, Tensor y, double scale)
    {
        if (Shards == 1)
        {
            Tensor loss = model.Loss(x, y);
            if (scale != 1) loss = loss * scale;
            loss.backward();
            return loss.item<float>();
        }
        Tensor[] xs = x.chunk(2), ys = y.chunk(2);
        var losses = new double[2];
        Run(i =>
        {
            using var scope = NewDisposeScope();
            Tensor loss = model.Loss(xs[i], ys[i]) * (scale / 2);
            loss.backward();
            losses[i] = loss.item<float>();
        });
        return losses[0] + losses[1];
    }

    /// <summary>The mean of per-batch losses, summed in batch order (deterministic).</summary>
    public static double Mean(double[] losses) => losses.Sum() / losses.Length;

    /// <summary>Each batch's loss without gradients, two batches at a time when sharding; batches
    /// <paramref name="include"/> rejects are skipped and left 0 (another data-parallel rank computes them).</summary>
    public double[] BatchLosses(LanguageModel model, IReadOnlyList<(Tensor X, Tensor Y)> batches, Func<int, bool>? include = null)
    {
        var losses = new double[batches.Count];
        void One(int i)
        {
            if (include is not null && !include(i)) return;
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            losses[i] = model.Loss(batches[i].X, batches[i].Y).item<float>();
        }
        if (Shards == 1) for (int i = 0; i < batches.Count; i++) One(i);
        else Parallel.For(0, batches.Count, new ParallelOptions { MaxDegreeOfParallelism = Shards }, i =>
        {
            torch.set_num_threads(ThreadsPerShard);
            One(i);
        });
        return losses;
    }

    void Run(Action<int> shard)
    {
        try
        {
            Parallel.For(0, Shards, new ParallelOptions { MaxDegreeOfParallelism = Shards }, i =>
            {
                torch.set_num_threads(ThreadsPerShard); // per-thread setting for the OpenMP kernels
                shard(i);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            throw e.InnerExceptions[0];
        }
    }
}
