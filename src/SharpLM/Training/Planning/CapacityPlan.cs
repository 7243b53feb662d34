namespace SharpLM.Training.Planning;

/// <summary>What to plan beyond the model and layout.</summary>
/// <param name="Precision">Bytes per state and activation (<see cref="TrainingPrecision"/>).</param>
/// <param name="Schedule">"1f1b" or "gpipe": how many micro-batches' activations a pipeline stage holds.</param>
/// <param name="Recompute">Full activation recomputation: keep only each layer's input and recompute the rest in the backward pass.</param>
/// <param name="FlopsBudget">A training budget C in FLOPs for the Chinchilla lines; null = none.</param>
/// <param name="DeviceMemoryBytes">Memory of one device; null = do not judge which strategies fit.</param>
public sealed record PlanOptions(TrainingPrecision Precision, string Schedule = "1f1b", bool Recompute = false, double? FlopsBudget = null, double? DeviceMemoryBytes = null)
{
    /// <summary>The pipeline schedules the planner knows.</summary>
    public static readonly IReadOnlyList<string> Schedules = new[] { "1f1b", "gpipe" };
}

/// <summary>
/// One data-parallel strategy's memory per device and gradient traffic per step. The byte counts apply the ZeRO
/// partitioning (Rajbhandari et al. 2020, Figure 1) to the model-parallel shard Ψ/(t·p) each device owns.
/// </summary>
/// <param name="Name">"DP", "ZeRO-1", "ZeRO-2" or "ZeRO-3".</param>
/// <param name="ZeroStage">0 for plain data parallelism; 1 partitions optimizer states (P_os), 2 also gradients (P_os+g), 3 also weights (P_os+g+p).</param>
/// <param name="ParameterBytes">Working weights per device.</param>
/// <param name="GradientBytes">Gradients per device.</param>
/// <param name="OptimizerBytes">Optimizer states per device.</param>
/// <param name="ModelStateBytes">The three together.</param>
/// <param name="ActivationBytes">Activations per device under the plan's schedule and recomputation; null when the model's shape is unknown.</param>
/// <param name="TotalBytes">Model states plus activations (model states alone when activations are unknown).</param>
/// <param name="Fits">Whether <see cref="TotalBytes"/> fits the device memory; null when none was given.</param>
/// <param name="GradientTrafficBytes">Bytes each device sends per step to synchronise gradients (and, for ZeRO-3, gather weights).</param>
public sealed record StrategyPlan(string Name, int ZeroStage, double ParameterBytes, double GradientBytes, double OptimizerBytes,
    double ModelStateBytes, double? ActivationBytes, double TotalBytes, bool? Fits, double GradientTrafficBytes);

/// <summary>
/// Activation memory per device (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer
/// Models", §4). Per layer and micro-batch, with 16-bit activations, it is s·b·h·(34 + 5·a·s/h) bytes (eq. 1), and
/// with tensor parallelism t (no sequence parallelism) s·b·h·(10 + 24/t + 5·a·s/(h·t)) (eq. 2): the attention and MLP
/// interiors split over t while the 10·s·b·h of layer-norm inputs, dropout masks and sublayer inputs stay replicated.
/// Full recomputation stores only each layer's input, 2·s·b·h (§4.2). Values are scaled by bytes/2 for fp32 (an
/// approximation: the 1-byte dropout masks inside the 34 do not double). The embedding and output layers' own
/// activations are left out, as the paper's per-layer formulas do.
/// </summary>
/// <param name="PerLayerBytes">One layer, one micro-batch, nothing recomputed.</param>
/// <param name="PerLayerRecomputedBytes">One layer, one micro-batch, full recomputation.</param>
/// <param name="LayersPerStage">L/p, the layers one device holds.</param>
/// <param name="InFlightMicroBatches">Micro-batches whose activations a device holds at once under the schedule: at most p for 1F1B (the first stage's p warm-up forwards), all m for GPipe, and one without a pipeline.</param>
/// <param name="PerDeviceBytes">L/p × in flight × the per-layer figure the plan's recomputation setting picks.</param>
public sealed record ActivationPlan(double PerLayerBytes, double PerLayerRecomputedBytes, int LayersPerStage, int InFlightMicroBatches, double PerDeviceBytes);

/// <summary>
/// Tensor-parallel traffic (Shoeybi et al. 2019, §3): each layer all-reduces its b·s·h output twice in the forward pass
/// (after attention and after the MLP, the "g" operator) and twice in the backward pass (the "f" operator); full
/// recomputation repeats the forward's two. A ring all-reduce sends 2·(t−1)/t of the buffer from each device.
/// </summary>
/// <param name="AllReducesPerStep">All-reduces each device joins per step: per layer of its stage and per micro-batch, 4 (6 with recomputation).</param>
/// <param name="AllReduceBytes">One all-reduce's buffer: b·s·h activations.</param>
/// <param name="BytesPerDevicePerStep">Bytes each device sends per step; 0 when t = 1.</param>
public sealed record TensorParallelPlan(long AllReducesPerStep, double AllReduceBytes, double BytesPerDevicePerStep);

/// <summary>
/// The pipeline (GPipe, Huang et al. 2019; 1F1B, Narayanan et al. 2021): both schedules idle for p−1 micro-batch
/// slots at each end of a step, a bubble of (p−1)/m of the ideal compute time (Narayanan et al. 2021, §2.2.1); 1F1B
/// only bounds the activations held (<see cref="ActivationPlan.InFlightMicroBatches"/>).
/// </summary>
/// <param name="BubbleFraction">(p−1)/m: idle time over ideal compute time.</param>
/// <param name="PointToPointBytesPerStep">Bytes an interior stage sends per step: each micro-batch's b·s·h activations forward and their gradient backward; null when s or h is unknown.</param>
public sealed record PipelinePlan(double BubbleFraction, double? PointToPointBytesPerStep);

/// <summary>The Chinchilla lines for a budget C (<see cref="Planning.Chinchilla"/>), beside what the planned model would do with it.</summary>
/// <param name="FlopsBudget">C.</param>
/// <param name="OptimalParameters">N_opt(C), approach 3 (eq. 4).</param>
/// <param name="OptimalTokens">D_opt(C), approach 3.</param>
/// <param name="OptimalLoss">L(N_opt, D_opt) under the fit.</param>
/// <param name="RuleParameters">N under the 20-tokens-per-parameter rule.</param>
/// <param name="RuleTokens">D = 20·N under the rule.</param>
/// <param name="ModelTokens">The tokens the planned model can train on for C: C / (6·Ψ).</param>
/// <param name="ModelLoss">L(Ψ, C/(6Ψ)) under the fit.</param>
public sealed record ChinchillaPlan(double FlopsBudget, double OptimalParameters, double OptimalTokens, double OptimalLoss,
    double RuleParameters, double RuleTokens, double ModelTokens, double ModelLoss);

/// <summary>
/// A capacity plan: everything <see cref="CapacityPlanner.Plan"/> works out, serialisable as snake_case JSON. N_d and
/// the FLOPs per token are read from <see cref="ParallelLayout.DataParallel"/> and <see cref="PlanModel.FlopsPerToken"/>.
/// </summary>
/// <param name="Model">The model planned.</param>
/// <param name="Layout">Devices, t, p, b and m.</param>
/// <param name="Precision">"bf16" (mixed) or "fp32".</param>
/// <param name="Schedule">The pipeline schedule the activation figures assume.</param>
/// <param name="Recompute">Whether they assume full recomputation.</param>
/// <param name="ShardParameters">Ψ/(t·p), the parameters one model-parallel shard owns: an even split, which ignores that Megatron replicates layer norms and biases of row-parallel layers on every tensor-parallel rank and that embeddings sit on the first and last stage.</param>
/// <param name="TokensPerStep">b·s·m·N_d; null when s is unknown.</param>
/// <param name="FlopsPerStep">FLOPs per token × tokens per step; null when s is unknown.</param>
/// <param name="DeviceMemoryBytes">The device memory the strategies were judged against, if any.</param>
/// <param name="Strategies">DP, ZeRO-1, ZeRO-2, ZeRO-3.</param>
/// <param name="Activations">Activation memory; null when L, h, a or s is unknown.</param>
/// <param name="TensorParallel">Tensor-parallel traffic; null when h or s is unknown and t > 1.</param>
/// <param name="Pipeline">Bubble and stage-to-stage traffic.</param>
/// <param name="Chinchilla">Compute-optimal lines; null without a FLOP budget.</param>
public sealed record CapacityPlan(PlanModel Model, ParallelLayout Layout, string Precision, string Schedule, bool Recompute,
    double ShardParameters, double? TokensPerStep, double? FlopsPerStep, double? DeviceMemoryBytes,
    IReadOnlyList<StrategyPlan> Strategies, ActivationPlan? Activations, TensorParallelPlan? TensorParallel, PipelinePlan Pipeline, ChinchillaPlan? Chinchilla);
