using System.Diagnostics;
using System.Text.Json;
using SharpLM.Data;
using SharpLM.IO;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Tokenization;
using TorchSharp;
using static TorchSharp.torch;
using SharpLM.Checkpoints;

namespace SharpLM.Training;

/// <summary>
/// The pre-training loop (nanoGPT's train.py): every eval_interval steps it measures train and validation loss
/// and writes a checkpoint; every step draws a batch, runs forward and backward (accumulating micro-batches),
/// clips the gradient norm, sets the scheduled learning rate and takes an AdamW step. Each step runs inside its
/// own TorchSharp dispose scope so native memory stays flat. A resumed run continues bit-identically.
/// </summary>
public sealed class Trainer
{
    /// <summary>Test hook: may replace a step's loss value (step, loss → loss), e.g. with NaN, to exercise the guard.</summary>
    internal static Func<int, double, double>? LossValueHook;

    readonly PretrainConfig config;
    readonly string dataDir, outDir;
    readonly ITrainingObserver observer;

    /// <param name="config">The model and training settings.</param>
    /// <param name="dataDir">Prepared data: train.bin, val.bin, data.json and the tokenizer.</param>
    /// <param name="outDir">The run directory: checkpoints, metrics.jsonl, loss.png and summary.json.</param>
    /// <param name="observer">Told about progress; null for none.</param>
    public Trainer(PretrainConfig config, string dataDir, string outDir, ITrainingObserver? observer = null)
    {
        this.config = config;
        this.dataDir = dataDir;
        this.outDir = outDir;
        this.observer = observer ?? new NullObserver();
    }

    sealed class NullObserver : ITrainingObserver { }

    /// <summary>
    /// Trains to max_iters (or the time budget), evaluating and checkpointing on the way, then writes loss.png and
    /// summary.json. A step whose loss is not finite or spikes is never applied: the run reloads the last
    /// checkpoint (when there is one) and goes on, up to max_rollbacks times.
    /// </summary>
    /// <param name="resume">Continue the checkpoint in the output directory (or start over a run that has none yet);
    /// without it, an output directory that already holds a run is an error.</param>
    /// <param name="cancel">Stops the run between steps.</param>
    /// <exception cref="InvalidInputException">Unprepared data, a config that differs from the resumed run's, or an
    /// occupied output directory.</exception>
    /// <exception cref="InvalidOperationException">The loss diverged more than max_rollbacks times.</exception>
    public TrainingSummary Run(bool resume, CancellationToken cancel = default)
    {
        var wall = Stopwatch.StartNew();
        TrainingConfig t = config.Training;
        Device device = TorchRuntime.ParseDevice(t.Device);
        // Under mpirun this process is one data-parallel rank: it trains on its rows of each batch, and only rank 0
        // writes files or reports progress. The ranks on a host share its cores unless told otherwise.
        using var dp = DataParallel.Join(t, device);
        bool writes = dp?.IsRoot ?? true;
        ITrainingObserver observer = writes ? this.observer : new NullObserver();
        int threads = TorchRuntime.SetThreads(t.Threads > 0 || dp is null ? t.Threads : Math.Max(1, Environment.ProcessorCount / Distributed.Mpi.LocalSize));

        if (!DataPreparer.IsPrepared(dataDir))
            throw InvalidInputException.ForFile(dataDir, "no prepared data (train.bin, val.bin, data.json); run 'sharplm data prepare' first");
        ITokenizer tokenizer = TokenizerFactory.Load(dataDir);
        ModelConfig modelConfig = config.Model with { VocabSize = tokenizer.VocabSize };
        var runConfig = config with { Model = modelConfig.Validate() };

        Directory.CreateDirectory(outDir);
        if (writes) AtomicFile.CleanStaleTemporaries(outDir);
        CheckpointManifest? resumeFrom = null;
        TrainingSummary? finished = null;
        if (Checkpoint.Exists(outDir))
        {
            if (!resume) throw InvalidInputException.ForFile(outDir, "already holds a checkpoint; pass --resume to continue it or choose another --out");
            resumeFrom = Checkpoint.ReadManifest(outDir);
            RequireSameConfig(Path.Combine(outDir, PretrainConfig.FileName), runConfig);
            // summary.json is written only when a run ends, after its last checkpoint: a summary of the checkpoint's
            // step means there is nothing left to do, and continuing would rewrite it from an empty loop
            // (final_train_loss NaN, peak_rss_mb 0). The finished run is left exactly as it is.
            string summaryPath = Path.Combine(outDir, SummaryFile);
            if (File.Exists(summaryPath) && Json.ReadFile<TrainingSummary>(summaryPath) is { } saved && saved.Iters == resumeFrom.Step)
                finished = saved;
        }
        else if (RunFiles.Any(f => File.Exists(Path.Combine(outDir, f))) && !resume)
        {
            throw InvalidInputException.ForFile(outDir, "already holds a run (no checkpoint yet); pass --resume to start it over or choose another --out");
        }

        using var train = TokenShard.Open(Path.Combine(dataDir, PreparedData.TrainShard));
        using var val = TokenShard.Open(Path.Combine(dataDir, PreparedData.ValShard));
        foreach (var shard in new[] { train, val })
            if (shard.VocabSize != tokenizer.VocabSize)
                throw InvalidInputException.ForFile(shard.Path, $"vocabulary size {shard.VocabSize} does not match the tokenizer's {tokenizer.VocabSize}");
        // Ranks started with other options or data, or that see another checkpoint, would silently train apart.
        dp?.RequireSameRun(new System.Text.Json.Nodes.JsonObject
        {
            ["config"] = JsonSerializer.SerializeToNode(runConfig, Json.Options),
            ["resume_step"] = resumeFrom?.Step, ["finished"] = finished is not null,
            ["train_tokens"] = train.Count, ["val_tokens"] = val.Count,
        });
        if (finished is not null)
        {
            observer.OnAlreadyFinished(finished, outDir);
            return finished;
        }

        torch.manual_seed(t.Seed);
        using var model = LanguageModel.Create(modelConfig);
        model.to(device);
        if (t.Precision == "bf16-mixed") MixedPrecision.Apply(model);
        if (t.Precision == "bf16-true") model.to(ScalarType.BFloat16);
        if (t.ActivationCheckpointing)
        {
            if (model is not Gpt gpt || modelConfig.Architecture != "causal_decoder")
                throw new InvalidInputException($"training.activation_checkpointing: supported for decoder-only Transformers, not a {modelConfig.Type} {modelConfig.Architecture}");
            if (modelConfig.Dropout > 0)
                throw new InvalidInputException($"training.activation_checkpointing: needs model.dropout 0 (the recomputed blocks would draw other dropout masks), not {modelConfig.Dropout}");
            gpt.ActivationCheckpointing = true;
        }
        model.train();
        var (decay, noDecay) = WeightDecayGroups.Split(model);
        using var parameters = ContiguousParameters.Create(model, new[] { decay, noDecay }, dp?.Shards ?? 1);
        using var optimizer = new FlatAdamW(parameters, new[] { t.WeightDecay, 0.0 }, t.Beta1, t.Beta2, t.Eps, shard: dp?.OptimizerShard(parameters));
        if (dp is not null && modelConfig.Dropout > 0) torch.manual_seed(t.Seed + 7919L * dp.Rank); // each rank its own dropout masks
        var sharding = BatchSharding.Plan(threads, dp is null ? t : t with { BatchSize = t.BatchSize / dp.Size }, modelConfig, device);
        torch.set_num_threads(sharding.ThreadsPerShard); // idle intra-op workers would compete with the shards
        var trainSampler = new BatchSampler(train, t.BatchSize, modelConfig.BlockSize, (ulong)t.Seed);
        var valSampler = new BatchSampler(val, t.BatchSize, modelConfig.BlockSize, (ulong)t.Seed ^ 0x5EEDUL);

        int step = 0, rollbacks = 0;
        double lastTrain = double.NaN, lastVal = double.NaN;
        if (resumeFrom is not null)
        {
            Checkpoint.LoadWeights(outDir, resumeFrom, model, optimizer);
            trainSampler.Random.State = resumeFrom.TrainSamplerState;
            valSampler.Random.State = resumeFrom.ValSamplerState;
            Checkpoint.RestoreRng(dp is not null && resumeFrom.RankTorchRngStates is { } states && states.Count == dp.Size ? states[dp.Rank] : resumeFrom.TorchRngState);
            step = resumeFrom.Step;
            rollbacks = resumeFrom.Rollbacks;
            lastVal = resumeFrom.ValLoss ?? double.NaN;
        }
        if (writes)
        {
            AtomicFile.WriteAllText(Path.Combine(outDir, PretrainConfig.FileName), JsonSerializer.Serialize(runConfig, Json.Options));
            tokenizer.Save(outDir);
        }

        double peak = MatmulPeak.MeasureGflops(device, threads); // all the cores the run may use
        torch.set_num_threads(sharding.ThreadsPerShard);
        using var log = writes ? new MetricsLog(outDir, resumeFrom?.MetricsLength) : null;
        observer.OnStart(step, t.MaxIters, model.ParameterCount);

        long tokensPerStep = (long)t.BatchSize * t.GradientAccumulationSteps * modelConfig.BlockSize;
        var stepTimes = new List<double>();
        double emaMs = 0, emaLoss = double.NaN, peakRss = 0;
        if (resumeFrom?.LossEma is double savedEma) emaLoss = savedEma;
        if (dp is not null && resumeFrom is null) dp.Broadcast(parameters); // rank 0's initial weights everywhere, whatever each host's RNG kernels
        int? skipEvalAt = resumeFrom?.Step; // the checkpoint was written right after that step's evaluation
        CheckpointManifest? last = resumeFrom;
        var loop = Stopwatch.StartNew();
        // Under mpirun the ranks must agree on the time spent (it ends the run and sets the learning rate): the slowest clock.
        double? BudgetFraction() => t.MaxSeconds > 0 ? (dp?.Max(loop.Elapsed.TotalSeconds) ?? loop.Elapsed.TotalSeconds) / t.MaxSeconds : null;

        void SaveCheckpoint()
        {
            using var scope = NewDisposeScope();
            // Collectives first, on every rank: ZeRO's optimizer shards and each rank's generator state.
            var optimizerState = dp?.ForCheckpoint(optimizer) ?? optimizer;
            string rng = Checkpoint.SaveRng();
            string[]? rankRng = dp?.Gather(rng);
            if (writes)
                last = Checkpoint.Save(outDir, model, optimizerState, new CheckpointManifest
                {
                    Step = step, Model = modelConfig, ModelFile = "", ModelSha256 = "",
                    TrainSamplerState = trainSampler.Random.State, ValSamplerState = valSampler.Random.State,
                    TorchRngState = rng, RankTorchRngStates = rankRng, MetricsLength = log!.Length, Rollbacks = rollbacks,
                    ValLoss = double.IsNaN(lastVal) ? null : lastVal, LossEma = double.IsNaN(emaLoss) ? null : emaLoss,
                });
            dp?.Barrier(); // the others may need it for a rollback: read it once it is complete
            if (!writes) last = Checkpoint.ReadManifest(outDir);
        }

        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            double? budget = BudgetFraction();
            bool final = step >= t.MaxIters || budget >= 1;
            if ((step % t.EvalInterval == 0 || final) && skipEvalAt != step)
            {
                (lastTrain, lastVal) = (Evaluate(model, sharding, trainSampler, t.EvalIters, device, dp), Evaluate(model, sharding, valSampler, t.EvalIters, device, dp));
                var eval = new EvalRecord(step, lastTrain, lastVal, Math.Round(loop.Elapsed.TotalSeconds, 3));
                log?.Write(eval);
                observer.OnEval(eval);
            }
            if ((step % t.EffectiveCheckpointInterval == 0 || final) && skipEvalAt != step)
            {
                SaveCheckpoint();
                observer.OnCheckpoint(step, outDir);
            }
            skipEvalAt = null;
            if (final) break;

            var sw = Stopwatch.StartNew();
            double lr = LearningRateSchedule.At(step, t, BudgetFraction()); // after the evaluation: its time counts
            double loss = ComputeGradients(model, sharding, parameters, trainSampler, t, device, dp);
            if (LossValueHook is not null) loss = LossValueHook(step, loss);

            string? problem = Problem(loss, emaLoss, step, t);
            if (problem is not null)
            {
                if (++rollbacks > t.MaxRollbacks)
                    throw new InvalidOperationException($"{outDir}: training diverged: {problem} at step {step}, after {t.MaxRollbacks} rollbacks");
                int badStep = step, to = last?.Step ?? step;
                // The offending update is never applied. Weights may already be drifting, so reload the last
                // checkpoint if there is one; the sampler keeps its position, so the batch is skipped, not replayed.
                if (last is not null)
                {
                    Checkpoint.LoadWeights(outDir, last, model, optimizer);
                    step = last.Step;
                    skipEvalAt = step;
                    emaLoss = last.LossEma ?? double.NaN;
                    log?.TruncateTo(last.MetricsLength); // the undone steps leave the log; the rollback record stays
                }
                var rb = new RollbackRecord(badStep, loss, to, problem);
                log?.Write(rb);
                observer.OnRollback(rb);
                continue;
            }
            ApplyUpdate(parameters, optimizer, t, lr, dp);
            double ms = sw.Elapsed.TotalMilliseconds;

            emaLoss = double.IsNaN(emaLoss) ? loss : 0.9 * emaLoss + 0.1 * loss;
            if (step >= 10) stepTimes.Add(ms);
            emaMs = emaMs == 0 ? ms : 0.95 * emaMs + 0.05 * ms;
            double rss = Environment.WorkingSet / 1048576.0;
            peakRss = Math.Max(peakRss, rss);
            var record = new StepRecord(step, loss, lr, ms, tokensPerStep / (ms / 1000.0), Math.Round(rss, 1));
            log?.Write(record);
            step++;
            double etaMs = emaMs * (t.MaxIters - step);
            if (t.MaxSeconds > 0) etaMs = Math.Min(etaMs, Math.Max(0, t.MaxSeconds - loop.Elapsed.TotalSeconds) * 1000);
            observer.OnStep(record, TimeSpan.FromMilliseconds(etaMs));
            if (t.GcInterval > 0 && step % t.GcInterval == 0) GC.Collect();
        }

        if (writes)
        {
            var (steps, evals) = MetricsLog.Read(outDir);
            LossCurvePlot.Write(outDir, steps, evals);
            if (stepTimes.Count == 0) stepTimes = steps.Where(s => s.Step >= 10).Select(s => s.MsPerIter).ToList();
        }
        double median = Median(stepTimes);
        double flopsPerStep = model.TrainingFlopsPerToken() * tokensPerStep;
        var summary = new TrainingSummary
        {
            FinalTrainLoss = lastTrain, FinalValLoss = lastVal, Iters = step,
            MedianMsPerIter = Math.Round(median, 3), TokensPerSecond = Math.Round(tokensPerStep / (median / 1000.0), 1),
            Params = model.ParameterCount, Mfu = Math.Round(flopsPerStep / (median / 1000.0) / (peak * 1e9), 4),
            MatmulPeakGflops = Math.Round(peak, 1), WallSeconds = Math.Round(wall.Elapsed.TotalSeconds, 2),
            TrainSeconds = Math.Round(loop.Elapsed.TotalSeconds, 2),
            Threads = threads, BatchShards = sharding.Shards, Rollbacks = rollbacks, PeakRssMb = Math.Round(peakRss, 1),
            Ranks = dp?.Size ?? 1, ZeroStage = dp?.ZeroStage ?? 0, MemoryPerRank = dp?.Memory(parameters, optimizer),
        };
        if (writes) AtomicFile.WriteAllText(Path.Combine(outDir, SummaryFile), JsonSerializer.Serialize(summary, Json.Options));
        observer.OnEnd(summary);
        return summary;
    }

    /// <summary>The summary a run writes when it ends.</summary>
    public const string SummaryFile = "summary.json";

    /// <summary>Files whose presence means a run already lives in the output directory.</summary>
    static readonly string[] RunFiles = { Checkpoint.ManifestFile, MetricsLog.FileName, SummaryFile };

    /// <summary>
    /// A resumed run must use the configuration it was started with, or it would not continue the same run.
    /// Names the first field that differs.
    /// </summary>
    static void RequireSameConfig(string savedPath, PretrainConfig current)
    {
        var saved = Json.ReadFile<PretrainConfig>(savedPath);
        var a = JsonSerializer.SerializeToNode(saved with { Description = "" }, Json.Options)!.AsObject();
        var b = JsonSerializer.SerializeToNode(current with { Description = "" }, Json.Options)!.AsObject();
        foreach (var (section, node) in a)
        {
            if (node is System.Text.Json.Nodes.JsonObject fields)
            {
                foreach (var (field, value) in fields)
                {
                    var other = b[section]?[field];
                    if (!System.Text.Json.Nodes.JsonNode.DeepEquals(value, other))
                        throw InvalidInputException.ForFile(savedPath, $"--resume with {section}.{field} = {other?.ToJsonString()}, but the run was started with {value?.ToJsonString()}; pass the original options");
                }
            }
            else if (!System.Text.Json.Nodes.JsonNode.DeepEquals(node, b[section]))
            {
                throw InvalidInputException.ForFile(savedPath, $"--resume with {section} = {b[section]?.ToJsonString()}, but the run was started with {node?.ToJsonString()}; pass the original options");
            }
        }
    }

    /// <summary>Forward and backward over one step's micro-batches into the gradient buffer; returns the mean loss.</summary>
    /// <remarks>Under data parallelism every rank draws the whole batch (so the samplers stay in step) and trains on its
    /// rows; the loss and the gradients are then summed over the ranks.</remarks>
    static double ComputeGradients(LanguageModel model, BatchSharding sharding, ContiguousParameters parameters, BatchSampler sampler,
        TrainingConfig t, Device device, DataParallel? dp)
    {
        using var scope = NewDisposeScope();
        parameters.ZeroGrad();
        double total = 0, scale = 1.0 / t.GradientAccumulationSteps;
        for (int micro = 0; micro < t.GradientAccumulationSteps; micro++)
        {
            var (x, y) = sampler.Next(device);
            if (dp is not null) (x, y) = dp.Part(x, y);
            total += sharding.ForwardBackward(model, x, y, dp is null ? scale : scale / dp.Size);
        }
        if (dp is null) return total;
        dp.ReduceGradients(parameters);
        return dp.Sum(total);
    }

    /// <summary>Clips the gradient norm and takes one AdamW step at the scheduled learning rate.</summary>
    static void ApplyUpdate(ContiguousParameters parameters, FlatAdamW optimizer, TrainingConfig t, double lr, DataParallel? dp)
    {
        using var scope = NewDisposeScope();
        optimizer.LearningRate = lr;
        if (dp is null)
        {
            if (t.GradClip > 0) parameters.ClipGradNorm(t.GradClip);
            optimizer.Step();
            return;
        }
        if (t.GradClip > 0) dp.ClipGradNorm(parameters, t.GradClip);
        dp.Step(parameters, optimizer);
    }

    /// <summary>Why a step's loss is unacceptable, or null. Spikes count only after warm-up, against the running mean.</summary>
    static string? Problem(double loss, double emaLoss, int step, TrainingConfig t)
    {
        if (!double.IsFinite(loss)) return $"loss is {loss}";
        if (t.SpikeFactor > 0 && step > t.WarmupIters && !double.IsNaN(emaLoss) && loss > t.SpikeFactor * emaLoss)
            return $"loss {loss:F4} spiked above {t.SpikeFactor}× its running mean {emaLoss:F4}";
        return null;
    }

    /// <remarks>Under data parallelism each rank evaluates every N-th batch and the per-batch losses are combined,
    /// then summed in batch order as one process sums them.</remarks>
    static double Evaluate(LanguageModel model, BatchSharding sharding, BatchSampler sampler, int iters, Device device, DataParallel? dp)
    {
        model.eval();
        using var scope = NewDisposeScope();
        var batches = Enumerable.Range(0, iters).Select(_ => sampler.Next(device)).ToList(); // drawn in order: deterministic
        double[] losses = sharding.BatchLosses(model, batches, dp is null ? null : dp.Owns);
        if (dp is not null) losses = dp.Combine(losses);
        model.train();
        return BatchSharding.Mean(losses);
    }

    static double Median(List<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.OrderBy(v => v).ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
