using System.Text.Json.Serialization;

namespace SharpLM.Training;

/// <summary>Optimisation settings of a pre-training run (nanoGPT's names where it has one).</summary>
public sealed record TrainingConfig
{
    /// <summary>Sequences of block_size tokens per micro-batch.</summary>
    public int BatchSize { get; init; } = 12;
    /// <summary>Micro-batches per optimizer step; the effective batch is batch_size × this.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;
    /// <summary>Optimizer steps in the run (the run may stop sooner with <see cref="MaxSeconds"/>).</summary>
    public int MaxIters { get; init; } = 2000;
    /// <summary>
    /// Wall-clock budget in seconds, 0 = none: the run stops at max_iters or when this much time has passed,
    /// whichever comes first, and the cosine schedule then decays over the budget's elapsed fraction instead of
    /// over steps (the step count is not known in advance). Such runs are not bit-reproducible.
    /// </summary>
    public double MaxSeconds { get; init; }
    /// <summary>Peak learning rate, reached at the end of warm-up.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Floor the cosine schedule decays to.</summary>
    public double MinLr { get; init; } = 1e-4;
    /// <summary>Steps of linear warm-up from near 0 to <see cref="LearningRate"/>.</summary>
    public int WarmupIters { get; init; } = 100;
    /// <summary>Step at which the cosine decay reaches <see cref="MinLr"/>; at least warmup_iters. Usually max_iters.</summary>
    public int LrDecayIters { get; init; } = 2000;
    /// <summary>AdamW's first-moment decay rate, in [0, 1).</summary>
    public double Beta1 { get; init; } = 0.9;
    /// <summary>AdamW's second-moment decay rate, in [0, 1).</summary>
    public double Beta2 { get; init; } = 0.99;
    /// <summary>AdamW's denominator term, keeping the step finite where the second moment is near 0; positive.</summary>
    public double Eps { get; init; } = 1e-8;
    /// <summary>Decoupled weight decay for matrices; biases, norms and embeddings get none.</summary>
    public double WeightDecay { get; init; } = 0.1;
    /// <summary>Global gradient-norm clip; 0 disables.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Steps between measurements of train and validation loss (and, by default, checkpoints); the last step is
    /// always evaluated.</summary>
    public int EvalInterval { get; init; } = 250;
    /// <summary>Batches averaged per split at each evaluation.</summary>
    public int EvalIters { get; init; } = 20;
    /// <summary>Steps between checkpoints; 0 means at every evaluation.</summary>
    public int CheckpointInterval { get; init; }
    /// <summary>Seeds libtorch (initial weights, dropout) and the batch samplers.</summary>
    public int Seed { get; init; } = 1337;
    /// <summary>Intra-op threads; 0 means all cores.</summary>
    public int Threads { get; init; }
    /// <summary>Where to train: "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Halves of each batch run concurrently on separate cores: 0 = automatic, 1 = off, 2 = on (see BatchSharding).</summary>
    public int BatchShards { get; init; }
    /// <summary>A loss above this multiple of its running average (after warm-up) counts as a spike; 0 disables (NaN/inf always count).</summary>
    public double SpikeFactor { get; init; } = 4.0;
    /// <summary>Rollbacks tolerated before the run stops with an error.</summary>
    public int MaxRollbacks { get; init; } = 5;
    /// <summary>Steps between forced .NET garbage collections, which return freed native tensor memory promptly.</summary>
    public int GcInterval { get; init; } = 50;
    /// <summary>
    /// fp32, or bf16-mixed: float32 weights, gradients and optimizer state, with every Linear layer's product in bf16
    /// (<see cref="Modeling.MixedPrecision"/>).
    /// </summary>
    public string Precision { get; init; } = "fp32";
    /// <summary>Recompute every Transformer block in backward instead of storing its activations (<see cref="Modeling.ActivationCheckpoint"/>): less memory, one more forward pass. Needs dropout 0.</summary>
    public bool ActivationCheckpointing { get; init; }
    /// <summary>Under mpirun (<see cref="DataParallel"/>): 0 plain data parallelism, 1 ZeRO-1 (optimizer state sharded
    /// across ranks), 2 ZeRO-2 (gradients sharded too).</summary>
    public int ZeroStage { get; init; }
    /// <summary>Size of each gradient all-reduce under mpirun, in MiB (PyTorch DDP's default bucket is 25).</summary>
    public double AllreduceBucketMb { get; init; } = 25;

    /// <summary>Steps between checkpoints in force: <see cref="CheckpointInterval"/>, or <see cref="EvalInterval"/> when
    /// that is 0.</summary>
    [JsonIgnore] public int EffectiveCheckpointInterval => CheckpointInterval > 0 ? CheckpointInterval : EvalInterval;

    /// <summary>Checks every setting and returns this config.</summary>
    /// <param name="source">Where the config came from, the prefix of the error.</param>
    /// <exception cref="InvalidInputException">A setting is out of range; names it.</exception>
    public TrainingConfig Validate(string source = "training config")
    {
        void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new InvalidInputException($"{source}: {field} {problem}");
        }
        Require(BatchSize > 0, "batch_size", "must be positive");
        Require(GradientAccumulationSteps > 0, "gradient_accumulation_steps", "must be positive");
        Require(MaxIters >= 0, "max_iters", "must not be negative");
        Require(MaxSeconds >= 0, "max_seconds", "must not be negative (0 = no time budget)");
        Require(LearningRate > 0, "learning_rate", "must be positive");
        Require(MinLr >= 0 && MinLr <= LearningRate, "min_lr", "must be in [0, learning_rate]");
        Require(WarmupIters >= 0, "warmup_iters", "must not be negative");
        Require(LrDecayIters >= WarmupIters, "lr_decay_iters", "must be at least warmup_iters");
        Require(Beta1 is >= 0 and < 1, "beta1", "must be in [0, 1)");
        Require(Beta2 is >= 0 and < 1, "beta2", "must be in [0, 1)");
        Require(Eps > 0, "eps", "must be positive");
        Require(WeightDecay >= 0, "weight_decay", "must not be negative");
        Require(GradClip >= 0, "grad_clip", "must not be negative");
        Require(EvalInterval > 0, "eval_interval", "must be positive");
        Require(EvalIters > 0, "eval_iters", "must be positive");
        Require(CheckpointInterval >= 0, "checkpoint_interval", "must not be negative");
        Require(Threads >= 0, "threads", "must not be negative");
        Require(BatchShards is 0 or 1 or 2, "batch_shards", "must be 0 (automatic), 1 or 2");
        Require(SpikeFactor == 0 || SpikeFactor > 1, "spike_factor", "must be 0 (off) or above 1");
        Require(MaxRollbacks >= 0, "max_rollbacks", "must not be negative");
        Require(GcInterval >= 0, "gc_interval", "must not be negative");
        Require(ZeroStage is 0 or 1 or 2, "zero_stage", "must be 0 (plain data parallel), 1 or 2");
        Require(AllreduceBucketMb > 0, "allreduce_bucket_mb", "must be positive");
        Require(Modeling.MixedPrecision.Names.Contains(Precision), "precision", $"'{Precision}' is not one of {string.Join(", ", Modeling.MixedPrecision.Names)}");
        return this;
    }
}
