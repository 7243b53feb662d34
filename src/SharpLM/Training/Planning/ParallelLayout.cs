namespace SharpLM.Training.Planning;

/// <summary>
/// How a training step is spread over devices: tensor parallelism t splits each layer's matrices (Megatron-LM,
/// Shoeybi et al. 2019), pipeline parallelism p splits the layers into stages, and the remaining
/// N_d = devices / (t·p) replicas run data parallelism (optionally ZeRO-partitioned) over one global batch.
/// </summary>
/// <param name="Devices">N, all devices.</param>
/// <param name="TensorParallel">t, devices one layer's matrices are split over.</param>
/// <param name="PipelineParallel">p, pipeline stages.</param>
/// <param name="MicroBatchSize">b, sequences per micro-batch.</param>
/// <param name="MicroBatches">m, micro-batches per step per replica (the pipeline's, or gradient accumulation's).</param>
public sealed record ParallelLayout(int Devices = 1, int TensorParallel = 1, int PipelineParallel = 1, int MicroBatchSize = 1, int MicroBatches = 1)
{
    /// <summary>N_d, the data-parallel degree: the replicas ZeRO partitions states over.</summary>
    public int DataParallel => Devices / (TensorParallel * PipelineParallel);

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first option out of range for this layout and <paramref name="model"/>.</summary>
    public ParallelLayout Validate(PlanModel model)
    {
        static void Require(bool ok, string option, string problem)
        {
            if (!ok) throw new InvalidInputException($"{option}: {problem}");
        }
        Require(Devices >= 1, "--devices", $"must be at least 1, not {Devices}");
        Require(TensorParallel >= 1, "--tp", $"must be at least 1, not {TensorParallel}");
        Require(PipelineParallel >= 1, "--pp", $"must be at least 1, not {PipelineParallel}");
        Require(MicroBatchSize >= 1, "--micro-batch", $"must be at least 1, not {MicroBatchSize}");
        Require(MicroBatches >= 1, "--micro-batches", $"must be at least 1, not {MicroBatches}");
        // Megatron splits attention by heads (each device computes whole heads) and the MLP by columns of h.
        if (model.Heads is int a) Require(a % TensorParallel == 0, "--tp", $"{TensorParallel} does not divide the {a} attention heads (Megatron-LM gives each device whole heads)");
        if (model.Layers is int l) Require(l % PipelineParallel == 0, "--pp", $"{PipelineParallel} does not divide the {l} layers (each stage holds the same number)");
        Require(Devices % ((long)TensorParallel * PipelineParallel) == 0, "--devices",
            $"{Devices} is not a multiple of tp × pp = {(long)TensorParallel * PipelineParallel} (the rest must form whole data-parallel replicas)");
        return this;
    }
}
