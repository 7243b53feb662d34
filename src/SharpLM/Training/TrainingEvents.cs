namespace SharpLM.Training;

/// <summary>One optimizer step, as logged to metrics.jsonl.</summary>
public sealed record StepRecord(int Step, double TrainLoss, double Lr, double MsPerIter, double TokensPerSecond, double RssMb);

/// <summary>One evaluation: mean loss over eval_iters batches of each split, after <paramref name="Seconds"/> of this process's training loop.</summary>
public sealed record EvalRecord(int Step, double TrainLoss, double ValLoss, double Seconds = 0);

/// <summary>The loss guard rolled the run back to a checkpoint and skipped the offending batch.</summary>
public sealed record RollbackRecord(int Step, double Loss, int RolledBackTo, string Reason)
{
    public string Event => "rollback";
}

/// <summary>summary.json: the run's headline figures.</summary>
public sealed record TrainingSummary
{
    public double FinalTrainLoss { get; init; }
    public double FinalValLoss { get; init; }
    public int Iters { get; init; }
    /// <summary>Median over steps, excluding the first 10 (warm-up) and evaluation/checkpoint time.</summary>
    public double MedianMsPerIter { get; init; }
    public double TokensPerSecond { get; init; }
    public long Params { get; init; }
    /// <summary>Achieved training FLOP/s over the fp32 matmul peak measured at start.</summary>
    public double Mfu { get; init; }
    public double MatmulPeakGflops { get; init; }
    public double WallSeconds { get; init; }
    /// <summary>Seconds spent in the training loop (steps and evaluations), what a time budget counts.</summary>
    public double TrainSeconds { get; init; }
    public int Threads { get; init; }
    public int BatchShards { get; init; }
    public int Rollbacks { get; init; }
    public double PeakRssMb { get; init; }
}

/// <summary>Receives a run's progress; the CLI renders it, tests record it. All members are optional.</summary>
public interface ITrainingObserver
{
    void OnStart(int startStep, int maxIters, long parameters) { }
    void OnStep(StepRecord step, TimeSpan eta) { }
    void OnEval(EvalRecord eval) { }
    void OnCheckpoint(int step, string directory) { }
    void OnRollback(RollbackRecord rollback) { }
    void OnEnd(TrainingSummary summary) { }
}
