namespace SharpLM.Adaptation.InstructionTuning;

/// <summary>Optimisation settings of an instruction-tuning run (TRL SFTTrainer's knobs that matter at this scale).</summary>
public sealed record SftOptions
{
    /// <summary>Optimizer steps in the run; the learning rate decays to <see cref="MinLr"/> at the last.</summary>
    public int MaxIters { get; init; } = 300;
    /// <summary>Packed rows per step.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Peak learning rate, reached after warm-up.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Learning rate at the end of the cosine decay; between 0 and <see cref="LearningRate"/>.</summary>
    public double MinLr { get; init; } = 1e-4;
    /// <summary>Steps of linear warm-up to <see cref="LearningRate"/> (capped at <see cref="MaxIters"/>).</summary>
    public int WarmupIters { get; init; } = 20;
    /// <summary>AdamW weight decay of the weight matrices (biases, norm gains and embeddings are never decayed); 0 by default.</summary>
    public double WeightDecay { get; init; }
    /// <summary>Gradients are clipped to this global norm; 0 turns clipping off.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Steps between held-out evaluations (exact match); the end of the run is always evaluated.</summary>
    public int EvalInterval { get; init; } = 100;
    /// <summary>Seeds libtorch's generator and the shuffling of examples each epoch.</summary>
    public int Seed { get; init; } = 1337;
    /// <summary>Intra-op threads; 0 = all cores.</summary>
    public int Threads { get; init; }
    /// <summary>Where to train: "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>fp32, or bf16-mixed: every Linear product in bf16 over float32 weights, gradients and optimizer state
    /// (<see cref="Modeling.MixedPrecision"/>, as pre-training's training.precision).</summary>
    public string Precision { get; init; } = "fp32";

    /// <summary>Checks every setting and returns these options.</summary>
    /// <exception cref="InvalidInputException">A setting is out of range; names it.</exception>
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
        Require(Precision is "fp32" or "bf16-mixed", "precision", $"'{Precision}' is not fp32 or bf16-mixed");
        return this;
    }

    /// <summary>The same schedule the pre-training loop uses: warm-up, then cosine decay to min_lr at max_iters.</summary>
    internal Training.TrainingConfig Schedule => new()
    {
        LearningRate = LearningRate, MinLr = MinLr, WarmupIters = Math.Min(WarmupIters, MaxIters), LrDecayIters = MaxIters, MaxIters = MaxIters,
    };
}
