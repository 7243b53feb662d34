namespace SharpLM.Training.Planning;

/// <summary>
/// Works out a <see cref="CapacityPlan"/> from closed-form costs in the papers: ZeRO's model-state memory and traffic,
/// Megatron-LM's tensor-parallel all-reduces, the pipeline bubble, Korthikanti et al.'s activation memory, PaLM's
/// FLOPs per token and Chinchilla's compute-optimal size. Arithmetic only: nothing is allocated or measured.
/// </summary>
public static class CapacityPlanner
{
    /// <summary>The data-parallel strategies, indexed by ZeRO stage (0 = plain data parallelism).</summary>
    public static readonly IReadOnlyList<string> Strategies = new[] { "DP", "ZeRO-1", "ZeRO-2", "ZeRO-3" };

    /// <summary>The plan for <paramref name="model"/> trained as <paramref name="layout"/> and <paramref name="options"/> say.</summary>
    /// <exception cref="InvalidInputException">The layout does not fit the model, or an option is out of range; names it.</exception>
    public static CapacityPlan Plan(PlanModel model, ParallelLayout layout, PlanOptions options)
    {
        layout.Validate(model);
        if (!PlanOptions.Schedules.Contains(options.Schedule))
            throw new InvalidInputException($"--schedule: '{options.Schedule}' is not supported (supported: {string.Join(", ", PlanOptions.Schedules)})");
        if (options.FlopsBudget is double c && !(c > 0 && double.IsFinite(c))) throw new InvalidInputException($"--flops: must be a positive number, not {c}");
        if (options.DeviceMemoryBytes is double m && !(m > 0 && double.IsFinite(m))) throw new InvalidInputException($"--device-memory-gb: must be positive, not {m / 1e9}");

        int t = layout.TensorParallel, p = layout.PipelineParallel, nd = layout.DataParallel;
        double shard = model.Parameters / ((double)t * p);
        var activations = Activations(model, layout, options);
        var strategies = Enumerable.Range(0, Strategies.Count).Select(stage => Strategy(stage, shard, nd, options, activations?.PerDeviceBytes)).ToList();

        double? tokensPerStep = model.SeqLen is int s ? (double)layout.MicroBatchSize * s * layout.MicroBatches * nd : null;
        return new CapacityPlan(model, layout, options.Precision.Name, options.Schedule, options.Recompute, shard, tokensPerStep, tokensPerStep * model.FlopsPerToken, options.DeviceMemoryBytes,
            strategies, activations, TensorParallel(model, layout, options), Pipeline(model, layout, options.Precision),
            options.FlopsBudget is double budget ? ChinchillaLines(model, budget) : null);
    }

    /// <summary>
    /// ZeRO §5 / Figure 1 applied to a shard of Ψ' = Ψ/(t·p) parameters over N_d replicas: stage 1 divides the K·Ψ'
    /// optimizer states by N_d, stage 2 also the gradients, stage 3 also the weights — DP keeps (2+2+K)Ψ', ZeRO-1
    /// 2Ψ' + 2Ψ' + KΨ'/N_d, ZeRO-2 2Ψ' + (2+K)Ψ'/N_d, ZeRO-3 (2+2+K)Ψ'/N_d. Traffic (§7): a ring all-reduce of the
    /// gradients sends 2·(N_d−1)/N_d·Ψ' elements per device; ZeRO-1 and 2 replace it by a reduce-scatter and an
    /// all-gather of the same volume; ZeRO-3 gathers the weights again for the backward pass, 1.5× as much.
    /// </summary>
    static StrategyPlan Strategy(int stage, double shard, int nd, PlanOptions options, double? activationBytes)
    {
        var precision = options.Precision;
        double Partitioned(int bytes, int fromStage) => bytes * shard / (stage >= fromStage ? nd : 1);
        double optimizer = Partitioned(precision.OptimizerBytes, 1), gradients = Partitioned(precision.GradientBytes, 2), weights = Partitioned(precision.ParameterBytes, 3);
        double states = weights + gradients + optimizer, total = states + (activationBytes ?? 0);
        double traffic = (stage == 3 ? 1.5 : 1.0) * 2.0 * (nd - 1) / nd * shard * precision.GradientBytes;
        return new StrategyPlan(Strategies[stage], stage, weights, gradients, optimizer, states, activationBytes, total,
            options.DeviceMemoryBytes is double memory ? total <= memory : null, traffic);
    }

    /// <summary>Korthikanti et al. 2022 eq. 1/2 and §4.2 (see <see cref="ActivationPlan"/>); null without L, h, a and s.</summary>
    static ActivationPlan? Activations(PlanModel model, ParallelLayout layout, PlanOptions options)
    {
        if (model is not { Layers: int l, Hidden: int h, Heads: int a, SeqLen: int s }) return null;
        double t = layout.TensorParallel, sbh = (double)s * layout.MicroBatchSize * h, scale = options.Precision.ActivationBytes / 2.0;
        // Eq. 2 with t = 1 is eq. 1: 10 + 24 = 34.
        double perLayer = scale * sbh * (10 + 24 / t + 5.0 * a * s / (h * t));
        double recomputed = scale * 2 * sbh;
        int p = layout.PipelineParallel, m = layout.MicroBatches;
        // Without a pipeline each micro-batch's backward ends before the next forward starts (gradient accumulation).
        int inFlight = p == 1 ? 1 : options.Schedule == "gpipe" ? m : Math.Min(p, m);
        int perStage = l / p;
        return new ActivationPlan(perLayer, recomputed, perStage, inFlight, perStage * inFlight * (options.Recompute ? recomputed : perLayer));
    }

    /// <summary>Megatron-LM's all-reduces (see <see cref="TensorParallelPlan"/>); null when t > 1 and h or s is unknown.</summary>
    static TensorParallelPlan? TensorParallel(PlanModel model, ParallelLayout layout, PlanOptions options)
    {
        int t = layout.TensorParallel;
        if (t == 1) return new TensorParallelPlan(0, 0, 0);
        if (model is not { Layers: int l, Hidden: int h, SeqLen: int s }) return null;
        long count = (options.Recompute ? 6L : 4L) * (l / layout.PipelineParallel) * layout.MicroBatches;
        double buffer = (double)layout.MicroBatchSize * s * h * options.Precision.ActivationBytes;
        return new TensorParallelPlan(count, buffer, count * 2.0 * (t - 1) / t * buffer);
    }

    /// <summary>The bubble (p−1)/m and stage-to-stage sends (see <see cref="PipelinePlan"/>).</summary>
    static PipelinePlan Pipeline(PlanModel model, ParallelLayout layout, TrainingPrecision precision)
    {
        int p = layout.PipelineParallel, m = layout.MicroBatches;
        double? sends = p == 1 ? 0
            : model is { Hidden: int h, SeqLen: int s } ? 2.0 * m * layout.MicroBatchSize * s * h * precision.ActivationBytes : null;
        return new PipelinePlan((p - 1) / (double)m, sends);
    }

    /// <summary>Chinchilla's optimum and rule for the budget, and the planned model's own tokens and loss under it.</summary>
    static ChinchillaPlan ChinchillaLines(PlanModel model, double budget)
    {
        var (n, d) = Chinchilla.Optimum(budget);
        var (ruleN, ruleD) = Chinchilla.RuleOfThumb(budget);
        // Chinchilla counts C = 6·N·D, without the attention term, so the model's tokens are read the same way.
        double tokens = budget / (6 * model.Parameters);
        return new ChinchillaPlan(budget, n, d, Chinchilla.Loss(n, d), ruleN, ruleD, tokens, Chinchilla.Loss(model.Parameters, tokens));
    }
}
