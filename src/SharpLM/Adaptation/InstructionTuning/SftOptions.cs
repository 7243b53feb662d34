namespace SharpLM.Adaptation.InstructionTuning;

/// <summary>Optimisation settings of an instruction-tuning run (TRL SFTTrainer's knobs that matter at this scale).</summary>
public sealed record SftOptions
{
    public int MaxIters { get; init; } = 300;
    /// <summary>Packed rows per step.</summary>
    public int BatchSize { get; init; } = 16;
    public double LearningRate { get; init; } = 1e-3;
    public double MinLr { get; init; } = 1e-4;
    public int WarmupIters { get; init; } = 20;
    public double WeightDecay { get; init; }
    public double GradClip { get; init; } = 1.0;
    /// <summary>Steps between held-out evaluations (exact match); the end of the run is always evaluated.</summary>
    public int EvalInterval { get; init; } = 100;
    public int Seed { get; init; } = 1337;
    /// <summary>Intra-op threads; 0 = all cores.</summary>
    public int Threads { get; init; }
    public string Device { get; init; } = "cpu";

    public SftOptions Validate()
    {
        void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new InvalidInputException($"sft options: {field} {problem}");
        }
        Require(MaxIters > 0, "max_iters", "must be positive");
        Require(BatchSize > 0, "batch_size", "must be positive");
        Require(LearningRate > 0, "learning_rate", "must be positive");
        Require(MinLr >= 0 && MinLr <= LearningRate, "min_lr", "must be in [0, learning_rate]");
        Require(WarmupIters >= 0, "warmup_iters", "must not be negative");
        Require(WeightDecay >= 0, "weight_decay", "must not be negative");
        Require(GradClip >= 0, "grad_clip", "must not be negative");
        Require(EvalInterval > 0, "eval_interval", "must be positive");
        Require(Threads >= 0, "threads", "must not be negative");
        return this;
    }

    /// <summary>The same schedule the pre-training loop uses: warm-up, then cosine decay to min_lr at max_iters.</summary>
    internal Training.TrainingConfig Schedule => new()
    {
        LearningRate = LearningRate, MinLr = MinLr, WarmupIters = Math.Min(WarmupIters, MaxIters), LrDecayIters = MaxIters, MaxIters = MaxIters,
    };
}
