using System.Diagnostics;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Adaptation.InstructionTuning;

/// <summary>One logged instruction-tuning step.</summary>
public sealed record SftStep(int Step, double Loss, double Lr, double MsPerIter, int TrainedTokens);

/// <summary>One held-out evaluation: exact match of greedy responses.</summary>
public sealed record SftEval(int Step, double ExactMatch, double Seconds);

/// <summary>What an instruction-tuning run did.</summary>
public sealed record SftSummary
{
    /// <summary>Parameters the optimizer updated (those with requires_grad).</summary>
    public required long TrainableParameters { get; init; }
    /// <summary>Parameters of the whole model, frozen ones included.</summary>
    public required long TotalParameters { get; init; }
    /// <summary>Trainable parameters as a percentage (0–100) of all.</summary>
    public double TrainablePercent => 100.0 * TrainableParameters / TotalParameters;
    /// <summary>Optimizer steps taken.</summary>
    public required int Iters { get; init; }
    /// <summary>Wall-clock seconds of the training steps and the evaluations between them (not the final one); rounded to 0.01.</summary>
    public required double TrainSeconds { get; init; }
    /// <summary>Loss of the last step: mean cross-entropy (nats) over its trained tokens.</summary>
    public required double FinalLoss { get; init; }
    /// <summary>Held-out exact match (0–1) of the last evaluation; null when there was no evaluator.</summary>
    public double? FinalExactMatch { get; init; }
    /// <summary>Largest working set seen after a step, in MiB; rounded to 0.1.</summary>
    public required double PeakRssMb { get; init; }
    /// <summary>Every held-out evaluation, in step order; empty when there was no evaluator.</summary>
    public required IReadOnlyList<SftEval> Evaluations { get; init; }
}

/// <summary>
/// Instruction tuning (supervised fine-tuning) of a causal decoder: examples are shuffled each epoch, packed into
/// rows of block_size (<see cref="SequencePacking"/>; attention and positions stay inside each example), and the
/// cross-entropy covers only trained tokens — responses and their end-of-turn token. Only parameters with
/// requires_grad train: all of them for full fine-tuning, a PEFT method's own ones otherwise (its frozen base gets
/// no gradient and no optimizer state). Each step runs in its own dispose scope.
/// </summary>
public sealed class SftTrainer(Gpt model, SftOptions options, IReadOnlyList<SftExample> examples)
{
    /// <summary>Called at every evaluation (every eval_interval steps and at the end); returns held-out exact match.</summary>
    public Func<double>? EvaluateExactMatch { get; init; }
    /// <summary>Called after every optimizer step.</summary>
    public Action<SftStep>? OnStep { get; init; }
    /// <summary>Called after every held-out evaluation.</summary>
    public Action<SftEval>? OnEval { get; init; }
    /// <summary>A parameter's learning rate as a multiple of the schedule's, by name (LoRA+); 1 for all when null.</summary>
    public Func<string, double>? LearningRateScale { get; init; }

    /// <summary>
    /// The mean cross-entropy over the trained tokens of a packed batch: labels outside <paramref name="lossMask"/>
    /// (prompt tokens, example ends, padding) are replaced by the ignore index, so whatever they hold never counts.
    /// </summary>
    /// <param name="model">The model being tuned.</param>
    /// <param name="tokens">Packed rows' tokens [rows, length].</param>
    /// <param name="labels">Next-token labels, the same shape.</param>
    /// <param name="lossMask">True where a label is trained.</param>
    /// <param name="segments">Which example each position belongs to (packing).</param>
    /// <param name="trainedTokens">Divide the summed loss by this count instead of taking the mean over these rows:
    /// under data parallelism each rank holds some rows of a batch, and the batch's mean is the sum over ranks of
    /// (sum over its rows) / (trained tokens in the whole batch).</param>
    public static Tensor Loss(Gpt model, Tensor tokens, Tensor labels, Tensor lossMask, Tensor segments, long? trainedTokens = null)
    {
        // Unpacked rows hold one example followed by padding, which a causal model never attends back to.
        Tensor logits = Packs(model) ? model.ForwardPacked(tokens, segments) : model.forward(tokens);
        Tensor counted = labels.masked_fill(lossMask.logical_not(), -1);
        if (trainedTokens is long total)
            return F.cross_entropy(logits.reshape(-1, logits.shape[^1]), counted.reshape(-1), ignore_index: -1, reduction: nn.Reduction.Sum) / total;
        return F.cross_entropy(logits.reshape(-1, logits.shape[^1]), counted.reshape(-1), ignore_index: -1);
    }

    /// <summary>
    /// Trains for <see cref="SftOptions.MaxIters"/> steps with AdamW on the warm-up-then-cosine schedule, evaluating
    /// every eval_interval steps and once at the end, and leaves the model in eval mode on the options' device.
    /// </summary>
    /// <exception cref="InvalidInputException">Bad options, no examples, no trained token in any example, or no
    /// trainable parameter.</exception>
    public SftSummary Run(CancellationToken cancel = default)
    {
        options.Validate();
        if (examples.Count == 0) throw new InvalidInputException("sft: no training examples");
        if (examples.All(e => e.TrainedCount == 0)) throw new InvalidInputException("sft: no example has a trained (response) token");
        Device device = TorchRuntime.ParseDevice(options.Device);
        // Under mpirun every rank draws the same batches and trains on its rows of each (Training.DataParallel).
        using var dp = DataParallel.Join(device, precision: options.Precision);
        TorchRuntime.SetThreads(options.Threads > 0 || dp is null ? options.Threads : Math.Max(1, Environment.ProcessorCount / Distributed.Mpi.LocalSize));
        torch.manual_seed(options.Seed);
        model.to(device);
        if (options.Precision == "bf16-mixed") Modeling.MixedPrecision.Apply(model);
        model.train();
        var groups = OptimizerGroups();
        if (groups.Sum(g => g.Parameters.Count) == 0) throw new InvalidInputException("sft: the model has no trainable parameters");
        using var parameters = ContiguousParameters.Create(model, groups.Select(g => g.Parameters).ToList());
        using var optimizer = new FlatAdamW(parameters, groups.Select(g => g.WeightDecay).ToList(), 0.9, 0.99, 1e-8, groups.Select(g => g.LearningRateScale).ToList());
        dp?.Broadcast(parameters); // rank 0's weights everywhere (a PEFT method's fresh weights included)
        if (dp is not null && model.Config.Dropout > 0) torch.manual_seed(options.Seed + 7919L * dp.Rank); // each rank its own dropout masks
        var random = new SplitMix64((ulong)options.Seed);
        var schedule = options.Schedule;

        var wall = Stopwatch.StartNew();
        var evals = new List<SftEval>();
        var batches = new Queue<PackedRows>();
        double peakRss = 0, loss = double.NaN;
        int step = 0;
        for (; step < options.MaxIters; step++)
        {
            cancel.ThrowIfCancellationRequested();
            if (step % options.EvalInterval == 0 && step > 0) Evaluate(step);
            PackedRows batch;
            do
            {
                if (batches.Count == 0) foreach (var b in SequencePacking.Pack(Shuffled(random), model.ContextLength, options.BatchSize, onePerRow: !Packs(model))) batches.Enqueue(b);
                batch = batches.Dequeue();
            } while (batch.TrainedTokens == 0); // rows whose responses were all cut off would give a 0/0 loss
            var sw = Stopwatch.StartNew();
            double lr = LearningRateSchedule.At(step, schedule);
            using (var scope = NewDisposeScope())
            {
                parameters.ZeroGrad();
                var (x, y, m, s) = batch.ToTensors(device);
                optimizer.LearningRate = lr;
                if (dp is null)
                {
                    Tensor l = Loss(model, x, y, m, s);
                    l.backward();
                    loss = l.item<float>();
                    if (options.GradClip > 0) parameters.ClipGradNorm(options.GradClip);
                    optimizer.Step();
                }
                else
                {
                    var (start, count) = dp.Rows(x.shape[0]);
                    double local = 0;
                    if (count > 0)
                    {
                        Tensor l = Loss(model, x.narrow(0, start, count), y.narrow(0, start, count), m.narrow(0, start, count), s.narrow(0, start, count), batch.TrainedTokens);
                        l.backward();
                        local = l.item<float>();
                    }
                    dp.ReduceGradients(parameters);
                    loss = dp.Sum(local);
                    if (options.GradClip > 0) dp.ClipGradNorm(parameters, options.GradClip);
                    dp.Step(parameters, optimizer);
                }
            }
            peakRss = Math.Max(peakRss, Environment.WorkingSet / 1048576.0);
            OnStep?.Invoke(new SftStep(step, loss, lr, sw.Elapsed.TotalMilliseconds, batch.TrainedTokens));
        }
        double trainSeconds = wall.Elapsed.TotalSeconds;
        Evaluate(step);
        model.eval();
        return new SftSummary
        {
            TrainableParameters = groups.Sum(g => g.Parameters.Sum(p => p.numel())), TotalParameters = model.ParameterCount,
            Iters = step, TrainSeconds = Math.Round(trainSeconds, 2), FinalLoss = loss,
            FinalExactMatch = evals.Count > 0 ? evals[^1].ExactMatch : null, PeakRssMb = Math.Round(peakRss, 1), Evaluations = evals,
        };

        void Evaluate(int at)
        {
            if (EvaluateExactMatch is null) return;
            model.eval();
            var e = new SftEval(at, EvaluateExactMatch(), Math.Round(wall.Elapsed.TotalSeconds, 2));
            model.train();
            evals.Add(e);
            OnEval?.Invoke(e);
        }
    }

    /// <summary>
    /// AdamW's groups: decayed weight matrices and the rest (<see cref="WeightDecayGroups"/>), each split further by
    /// learning-rate scale when <see cref="LearningRateScale"/> gives some parameters another one.
    /// </summary>
    List<(IReadOnlyList<Parameter> Parameters, double WeightDecay, double LearningRateScale)> OptimizerGroups()
    {
        var (decay, noDecay) = WeightDecayGroups.Split(model);
        // By handle: parameters() and named_parameters() need not hand out the same wrapper objects.
        var scales = model.named_parameters().ToDictionary(p => p.parameter.Handle, p => LearningRateScale?.Invoke(p.name) ?? 1.0);
        return new[] { (Parameters: decay, WeightDecay: options.WeightDecay), (Parameters: noDecay, WeightDecay: 0.0) }
            .SelectMany(g => g.Parameters.GroupBy(p => scales[p.Handle]).OrderBy(s => s.Key)
                .Select(s => ((IReadOnlyList<Parameter>)s.ToList(), g.WeightDecay, s.Key)))
            .ToList();
    }

    /// <summary>
    /// Whether examples share rows. A soft prompt (prompt tuning) takes context positions of its own and belongs to
    /// one example per row, so such a model trains on unpacked rows of its shorter context.
    /// </summary>
    static bool Packs(Gpt model) => model.ContextLength == model.Config.BlockSize;

    /// <summary>A seeded Fisher-Yates shuffle of the examples: a new order each epoch.</summary>
    List<SftExample> Shuffled(SplitMix64 random)
    {
        var order = examples.ToList();
        for (int i = order.Count - 1; i > 0; i--)
        {
            int j = (int)(random.Next() % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
