namespace SharpLM.Training;

/// <summary>One optimizer step, as logged to metrics.jsonl.</summary>
public sealed record StepRecord(int Step, double TrainLoss, double Lr, double MsPerIter, double TokensPerSecond, double RssMb);

/// <summary>One evaluation: mean loss over eval_iters batches of each split, after <paramref name="Seconds"/> of this process's training loop.</summary>
public sealed record EvalRecord(int Step, double TrainLoss, double ValLoss, double Seconds = 0);

/// <summary>The loss guard rolled the run back to a checkpoint and skipped the offending batch.</summary>
public sealed record RollbackRecord(int Step, double Loss, int RolledBackTo, string Reason)
{
    /// <summary>Always "rollback": tells the record apart from steps and evaluations in metrics.jsonl.</summary>
    public string Event => "rollback";
}

/// <summary>summary.json: the run's headline figures.</summary>
public sealed record TrainingSummary
{
    /// <summary>Train loss at the last evaluation, in nats per token (per character for an n-gram model).</summary>
    public double FinalTrainLoss { get; init; }
    /// <summary>Validation loss at the last evaluation, in the same unit.</summary>
    public double FinalValLoss { get; init; }
    /// <summary>Optimizer steps completed (1 for an n-gram model, which is counted, not trained by steps).</summary>
    public int Iters { get; init; }
    /// <summary>Median over steps, excluding the first 10 (warm-up) and evaluation/checkpoint time.</summary>
    public double MedianMsPerIter { get; init; }
    /// <summary>Training tokens per second at the median step time (characters counted per second for an n-gram model).</summary>
    public double TokensPerSecond { get; init; }
    /// <summary>Parameters of the model (for an n-gram model, the n-grams it stores).</summary>
    public long Params { get; init; }
    /// <summary>Achieved training FLOP/s over the fp32 matmul peak measured at start.</summary>
    public double Mfu { get; init; }
    /// <summary>The fp32 matmul throughput measured at the start (<see cref="MatmulPeak"/>), in GFLOP/s; 0 for an n-gram model.</summary>
    public double MatmulPeakGflops { get; init; }
    /// <summary>Seconds of the whole run, setup and the peak measurement included.</summary>
    public double WallSeconds { get; init; }
    /// <summary>Seconds spent in the training loop (steps and evaluations), what a time budget counts.</summary>
    public double TrainSeconds { get; init; }
    /// <summary>libtorch intra-op threads the run used; 0 for an n-gram model.</summary>
    public int Threads { get; init; }
    /// <summary>Parts each batch was split into (<see cref="BatchSharding"/>): 1 or 2; 0 for an n-gram model.</summary>
    public int BatchShards { get; init; }
    /// <summary>Times the loss guard rolled the run back.</summary>
    public int Rollbacks { get; init; }
    /// <summary>Largest working set seen after a step, in MiB (rank 0's under mpirun); 0 for an n-gram model.</summary>
    public double PeakRssMb { get; init; }
    /// <summary>Data-parallel MPI ranks (<see cref="DataParallel"/>); 1 for a single process.</summary>
    public int Ranks { get; init; } = 1;
    /// <summary>ZeRO stage under mpirun (0 = plain data parallelism).</summary>
    public int ZeroStage { get; init; }
    /// <summary>Training state one rank holds, by kind; null for a single process.</summary>
    public MemoryPerRank? MemoryPerRank { get; init; }
}

/// <summary>Receives a run's progress; the CLI renders it, tests record it. All members are optional.</summary>
public interface ITrainingObserver
{
    /// <summary>Once, before the first step: the step the run starts from (0, or a resumed checkpoint's), its
    /// max_iters and the model's parameter count.</summary>
    void OnStart(int startStep, int maxIters, long parameters) { }
    /// <summary>After every applied step, with an estimate of the time left.</summary>
    void OnStep(StepRecord step, TimeSpan eta) { }
    /// <summary>After every evaluation.</summary>
    void OnEval(EvalRecord eval) { }
    /// <summary>After a checkpoint for <paramref name="step"/> is written to <paramref name="directory"/>.</summary>
    void OnCheckpoint(int step, string directory) { }
    /// <summary>After the loss guard undid a step.</summary>
    void OnRollback(RollbackRecord rollback) { }
    /// <summary>Once, after summary.json is written.</summary>
    void OnEnd(TrainingSummary summary) { }

    /// <summary>--resume of a run that had already ended: nothing was trained or written; <paramref name="summary"/> is its saved one.</summary>
    void OnAlreadyFinished(TrainingSummary summary, string directory) { }
}
