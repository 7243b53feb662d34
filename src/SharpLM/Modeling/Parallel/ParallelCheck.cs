using System.Diagnostics;
using System.Globalization;
using System.Text;
using SharpLM.Distributed;
using SharpLM.Modeling;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling.Parallel;

/// <summary>What `sharplm mpi parallel` checks: a parallel layout against the single-process model.</summary>
/// <param name="Mode">"tensor" (<see cref="TensorParallel"/>) or "pipeline" (<see cref="PipelineParallel"/>).</param>
/// <param name="Model">The GPT to build, from one seed on every rank.</param>
/// <param name="BatchSize">Rows per step (the pipeline cuts them into micro-batches).</param>
/// <param name="SequenceLength">Tokens per row, at most block_size.</param>
/// <param name="MicroBatches">Pipeline micro-batches per step.</param>
/// <param name="Steps">Timed steps after one untimed warm-up step.</param>
/// <param name="Seed">Seed of the weights and of the random token batch.</param>
/// <param name="Schedule">Pipeline schedule: "1f1b" or "gpipe" (<see cref="PipelineParallel.Step"/>).</param>
public sealed record ParallelCheckOptions(string Mode, ModelConfig Model, int BatchSize, int SequenceLength, int MicroBatches = 4, int Steps = 3, int Seed = 1337, string Schedule = "1f1b");

/// <summary>The verdict and timings of <see cref="ParallelCheck"/>, as rank 0 reports them.</summary>
/// <param name="Options">What was checked.</param>
/// <param name="Ranks">MPI ranks (tensor-parallel ranks or pipeline stages).</param>
/// <param name="Parameters">Parameters of the whole model.</param>
/// <param name="LogitsMaxAbsDiff">Largest |parallel − single-process| over every logit.</param>
/// <param name="LossAbsDiff">|parallel − single-process| of the mean loss.</param>
/// <param name="GradientMaxAbsDiff">Largest difference over every element of every parameter's gradient (each rank's shard against the same slice of the single-process gradient).</param>
/// <param name="WorstGradient">The parameter where that largest difference is.</param>
/// <param name="LogitsMaxAbs">Largest |logit| of the single-process model, for scale.</param>
/// <param name="GradientMaxAbs">Largest |gradient element| of the single-process model, for scale.</param>
/// <param name="Loss">The single-process loss.</param>
/// <param name="SingleMsPerStep">Forward + backward of the whole model on rank 0 alone.</param>
/// <param name="ParallelMsPerStep">The same step split over the ranks (slowest rank).</param>
/// <param name="StageIdleMs">Pipeline: per stage, ms per step spent in sends and receives; null for tensor parallelism.</param>
/// <param name="StageBusyMs">Pipeline: per stage, ms per step computing.</param>
/// <param name="StageMostHeld">Pipeline: per stage, the most micro-batches whose activations it held at once.</param>
public sealed record ParallelCheckResult(
    ParallelCheckOptions Options, int Ranks, long Parameters,
    double LogitsMaxAbsDiff, double LossAbsDiff, double GradientMaxAbsDiff, string WorstGradient,
    double LogitsMaxAbs, double GradientMaxAbs, double Loss,
    double SingleMsPerStep, double ParallelMsPerStep, double[]? StageIdleMs, double[]? StageBusyMs, double[]? StageMostHeld)
{
    /// <summary>Largest absolute difference allowed for logits, loss and every gradient element.</summary>
    public const double Tolerance = 1e-5;

    /// <summary>Logits, loss and gradients all within <see cref="Tolerance"/> of the single-process model.</summary>
    public bool Matches => LogitsMaxAbsDiff <= Tolerance && LossAbsDiff <= Tolerance && GradientMaxAbsDiff <= Tolerance;

    /// <summary>The pipeline bubble for equal stages (GPipe and 1F1B alike): (p − 1)/m of the busy time.</summary>
    public double TheoreticalBubble => (Ranks - 1.0) / Options.MicroBatches;

    /// <summary>Measured bubble: idle over busy time, averaged over the stages.</summary>
    public double? MeasuredBubble => StageIdleMs is null ? null : StageIdleMs.Zip(StageBusyMs!, (i, b) => i / b).Average();
}

/// <summary>
/// Builds the same GPT from one seed on every rank, computes logits, loss and gradients of one random batch with
/// the whole model on rank 0 (the reference, broadcast to every rank) and with the model split across the ranks,
/// and compares them: tensor parallelism must reproduce the single-process model up to float rounding of its
/// reordered sums. Then times both.
/// </summary>
public static class ParallelCheck
{
    /// <summary>Runs the check on every rank of <paramref name="mpi"/> (collective: every rank must call it).</summary>
    /// <exception cref="InvalidInputException">The model or batch does not split over the ranks (names the field).</exception>
    public static ParallelCheckResult Run(Mpi mpi, ParallelCheckOptions options)
    {
        var config = options.Model;
        if (options.SequenceLength < 1 || options.SequenceLength > config.BlockSize)
            throw new InvalidInputException($"--sequence-length: {options.SequenceLength} must be in [1, block_size {config.BlockSize}]");
        if (options.BatchSize < 1) throw new InvalidInputException($"--batch-size: {options.BatchSize} must be positive");
        if (options.Steps < 1) throw new InvalidInputException($"--steps: {options.Steps} must be positive");
        bool tensor = options.Mode switch
        {
            "tensor" => true,
            "pipeline" => false,
            _ => throw new InvalidInputException($"--mode: '{options.Mode}' is not tensor or pipeline"),
        };
        if (tensor) TensorParallel.CheckLayout(config, mpi.Size);
        else
        {
            PipelineParallel.CheckLayout(config, mpi.Size, options.MicroBatches, options.BatchSize);
            if (!PipelineParallel.Schedules.Contains(options.Schedule))
                throw new InvalidInputException($"--schedule: '{options.Schedule}' is not one of {string.Join(", ", PipelineParallel.Schedules)}");
        }

        torch.manual_seed(options.Seed);
        using var full = new Gpt(config);
        full.train();
        var generator = new Generator((ulong)options.Seed + 1);
        Tensor idx = randint(0, config.VocabSize, new long[] { options.BatchSize, options.SequenceLength }, generator: generator);
        Tensor targets = randint(0, config.VocabSize, new long[] { options.BatchSize, options.SequenceLength }, generator: generator);

        // The reference: the whole model on rank 0, broadcast so every rank compares its own part.
        var parameters = full.named_parameters().ToList();
        Tensor refLogits = zeros(options.BatchSize, options.SequenceLength, config.VocabSize);
        Tensor refLoss = zeros(1);
        var refGrads = parameters.ToDictionary(p => p.name, p => zeros(p.parameter.shape));
        double singleMs = 0;
        if (mpi.Rank == 0)
        {
            singleMs = TimeSteps(options.Steps, (index, last) =>
            {
                full.zero_grad();
                Tensor logits = full.forward(idx);
                Tensor loss = F.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1));
                loss.backward();
                if (!last) return;
                using var _ = no_grad();
                refLogits.copy_(logits);
                refLoss.copy_(loss.reshape(1));
                foreach (var (name, p) in parameters) refGrads[name].copy_(p.grad!);
            });
        }
        mpi.Broadcast(Runtime.TensorMemory.Span(refLogits), 0);
        mpi.Broadcast(Runtime.TensorMemory.Span(refLoss), 0);
        foreach (var (name, _) in parameters) mpi.Broadcast(Runtime.TensorMemory.Span(refGrads[name]), 0);
        Span<double> times = [singleMs];
        mpi.AllReduceMax(times);
        singleMs = times[0];

        // The same step, split across the ranks.
        Tensor? logitsOut = null, lossOut = null;
        var gradsOut = new Dictionary<string, Tensor>();
        double[]? idle = null, busy = null, held = null;
        double parallelMs;
        if (tensor)
        {
            var parallel = new TensorParallel(mpi);
            using var local = parallel.ShardOf(full);
            local.train();
            var localParameters = local.named_parameters().ToList();
            parallelMs = TimeSteps(options.Steps, (index, last) =>
            {
                local.zero_grad();
                Tensor logits = local.forward(idx);
                Tensor loss = F.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1));
                loss.backward();
                if (!last) return;
                logitsOut = logits.detach().MoveToOuterDisposeScope();
                lossOut = loss.detach().reshape(1).MoveToOuterDisposeScope();
                // Each rank's gradient against the same slice of the single-process one.
                foreach (var (name, p) in localParameters) gradsOut[name] = (p.grad! - parallel.Shard(name, refGrads[name], config)).MoveToOuterDisposeScope();
            }, mpi);
        }
        else
        {
            var pipeline = new PipelineParallel(mpi);
            using var stage = pipeline.StageOf(full);
            stage.train();
            var stageParameters = stage.named_parameters().ToList();
            double idleSum = 0, busySum = 0;
            int mostHeld = 0;
            parallelMs = TimeSteps(options.Steps, (i, last) =>
            {
                stage.zero_grad();
                var step = pipeline.Step(stage, idx, targets, options.MicroBatches, options.Schedule);
                mostHeld = Math.Max(mostHeld, step.MostMicroBatchesHeld);
                if (i > 0)
                {
                    idleSum += step.IdleMilliseconds;
                    busySum += step.BusyMilliseconds;
                }
                if (!last) return;
                logitsOut = step.Logits?.MoveToOuterDisposeScope();
                lossOut = step.Loss?.reshape(1).MoveToOuterDisposeScope();
                foreach (var (name, p) in stageParameters) gradsOut[name] = (p.grad! - refGrads[name]).MoveToOuterDisposeScope();
            }, mpi);
            // Per-stage idle and busy time, each rank filling its own slot.
            idle = new double[mpi.Size];
            busy = new double[mpi.Size];
            held = new double[mpi.Size];
            idle[mpi.Rank] = idleSum / options.Steps;
            busy[mpi.Rank] = busySum / options.Steps;
            held[mpi.Rank] = mostHeld;
            mpi.AllReduceSum(idle);
            mpi.AllReduceSum(busy);
            mpi.AllReduceSum(held);
        }

        // Largest differences over all ranks; the worst gradient's name travels with its difference.
        double logitsDiff = logitsOut is null ? 0 : (logitsOut - refLogits).abs().max().item<float>();
        double lossDiff = lossOut is null ? 0 : (lossOut - refLoss).abs().item<float>();
        var (worstName, worstDiff) = gradsOut.Select(g => (g.Key, (double)g.Value.abs().max().item<float>())).MaxBy(g => g.Item2);
        Span<double> diffs = [logitsDiff, lossDiff, worstDiff];
        mpi.AllReduceMax(diffs);
        string worst = mpi.AllGatherBytes(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{worstDiff:R}\t{worstName}")))
            .Select(b => Encoding.UTF8.GetString(b).Split('\t'))
            .MaxBy(p => double.Parse(p[0], CultureInfo.InvariantCulture))![1];
        Span<double> ms = [parallelMs];
        mpi.AllReduceMax(ms);

        double gradientScale = refGrads.Values.Max(g => (double)g.abs().max().item<float>());
        return new ParallelCheckResult(options, mpi.Size, full.ParameterCount, diffs[0], diffs[1], diffs[2], worst,
            refLogits.abs().max().item<float>(), gradientScale, refLoss.item<float>(), singleMs, ms[0], idle, busy, held);
    }

    /// <summary>
    /// Runs <paramref name="step"/> once untimed (index 0), then <paramref name="steps"/> times timed, each in its own
    /// dispose scope and told whether it is the last; mean ms per timed step. With <paramref name="mpi"/>, ranks
    /// start each step together.
    /// </summary>
    static double TimeSteps(int steps, Action<int, bool> step, Mpi? mpi = null)
    {
        double total = 0;
        for (int i = 0; i <= steps; i++)
        {
            mpi?.Barrier();
            var clock = Stopwatch.StartNew();
            using (var scope = NewDisposeScope()) step(i, i == steps);
            if (i > 0) total += clock.Elapsed.TotalMilliseconds;
        }
        return total / steps;
    }
}
