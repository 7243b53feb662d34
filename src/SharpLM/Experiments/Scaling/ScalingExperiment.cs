using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpLM.Data;
using SharpLM.IO;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Tokenization;
using SharpLM.Training;
using SharpLM.Training.Planning;

namespace SharpLM.Experiments.Scaling;

/// <summary>
/// Scaling laws on one small corpus: a grid of model sizes × token budgets, every run trained by
/// <see cref="Pretraining.Run"/> with a cosine schedule that ends exactly at its budget (Hoffmann et al.'s point that a
/// schedule longer than the run overstates its loss), then Kaplan's L(N) = (N_c/N)^α_N on the largest budget and
/// Chinchilla's L(N, D) = E + A/N^α + B/D^β (approach 3) on every run. The Chinchilla fit then names the
/// compute-optimal (N, D) for <see cref="PredictionComputeFactor"/> times the largest grid run's compute; that model is
/// trained and its measured loss is set against the prediction.
/// N counts non-embedding parameters (token and position tables excluded, as Kaplan et al. do); compute is C = 6ND.
/// The models are one family — the baseline's depth, heads and context, only the width varies — so a predicted N maps
/// back to a width. The grid's largest budget is derived from <see cref="Minutes"/> and each size's measured speed
/// (a short calibration run through the same trainer), and is saved in plan.json: a re-run with the same options
/// reuses it and skips every run whose directory already holds a finished summary.json.
/// </summary>
public sealed class ScalingExperiment
{
    /// <summary>The input text (e.g. tinyshakespeare's input.txt), prepared once at character level into OUT/data.</summary>
    public required string Data { get; init; }
    /// <summary>The output directory: data, plan.json, calibration/, runs/, results.json, results.md and the plots.</summary>
    public required string OutDir { get; init; }
    /// <summary>Wall-clock minutes for the whole experiment (calibration, grid, fits and the prediction run): the grid's
    /// token budgets are derived from it, or explicit <see cref="BudgetSteps"/> are checked against it.</summary>
    public double Minutes { get; init; } = 30;
    /// <summary>Seeds every run (the same seed for all: differences come from size and budget only).</summary>
    public int Seed { get; init; } = 1337;
    /// <summary>The model widths (n_embd) of the grid, each a multiple of the baseline's n_head; at least 2 (5 or more for a
    /// meaningful law).</summary>
    public IReadOnlyList<int> Widths { get; init; } = DefaultWidths;
    /// <summary>Token budgets per size; with <see cref="BudgetRatio"/> they form a geometric series ending at the largest.</summary>
    public int Budgets { get; init; } = 3;
    /// <summary>Ratio between successive token budgets. Wider spacing separates the data term from the parameter term
    /// better but shrinks the smallest budget: on the shared 2-core machine 3 left the smallest of a 30-minute grid under
    /// twice the warm-up and was refused, 2 fits.</summary>
    public double BudgetRatio { get; init; } = 2;
    /// <summary>Explicit optimizer steps per budget (ascending) instead of deriving them from <see cref="Minutes"/>; the
    /// estimate must still fit the minutes.</summary>
    public IReadOnlyList<int>? BudgetSteps { get; init; }
    /// <summary>The run every model starts from (depth, heads, context, batch, warm-up); the shakespeare-char preset unless given.</summary>
    public PretrainConfig? Baseline { get; init; }
    /// <summary>Validation tokens averaged for each run's final loss; every run draws the same batches (same seed, same
    /// number of evaluations), so sampling noise is shared rather than added between runs.</summary>
    public int EvalTokens { get; init; } = 65_536;
    /// <summary>Steps of each size's calibration run; more than the 10 warm-up steps the trainer leaves out of its median.</summary>
    public int CalibrationSteps { get; init; } = 30;
    /// <summary>The prediction run's compute as a multiple of the largest grid run's.</summary>
    public double PredictionComputeFactor { get; init; } = 4;
    /// <summary>The prediction run is trained only when its estimated seconds fit what is left of <see cref="Minutes"/> plus
    /// this share of the whole budget; otherwise the report names it, its estimate and why it was not trained. Small
    /// models are step-overhead-bound on a CPU, so a fit that asks for a small N on many tokens can cost far more time
    /// than its FLOPs suggest.</summary>
    public double PredictionOverrun { get; init; } = 0.25;
    /// <summary>An observer for each run, by run name; null for none.</summary>
    public Func<string, ITrainingObserver>? ObserverFor { get; init; }
    /// <summary>Receives progress lines (plan, each run with its estimate and the experiment's ETA, fits); null for silence.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Widths 16–64: about 13k to 200k non-embedding parameters at the baby depth, a 15× range in N. Half an hour
    /// of the 2-core CPU buys a few million tokens per run at most; Chinchilla's ~20 tokens per parameter then puts the
    /// compute-optimal sizes here. Widths 32–128 (tried first) were all trained on fewer tokens than parameters ×20:
    /// every size's loss was still falling fast with D, the fit's E went to 0 and its optimum asked for a model smaller
    /// than the grid trained on 80 epochs.</summary>
    public static readonly IReadOnlyList<int> DefaultWidths = new[] { 16, 24, 32, 48, 64 };

    /// <summary>File names in the output directory.</summary>
    public const string ResultsJson = "results.json", ResultsMarkdown = "results.md", PlanFile = "plan.json",
        LossVsParametersPlot = "loss_vs_n.png", FrontierPlot = "frontier.png", IsoFlopPlot = "isoflop.png";

    /// <summary>Forward passes cost about a third of a training step (2N of the 6N FLOPs per token): used to estimate
    /// evaluation time from a step's time.</summary>
    const double ForwardShareOfStep = 2.0 / 6.0;

    /// <summary>Runs (or resumes) the whole experiment and writes the results; returns them.</summary>
    /// <exception cref="InvalidInputException">Options out of range, a budget that does not fit <see cref="Minutes"/>, or an
    /// output directory planned with other options.</exception>
    public ScalingResults Run()
    {
        var wall = Stopwatch.StartNew();
        var baseline = Baseline ?? PretrainConfig.Preset("shakespeare-char");
        Validate(baseline);
        Directory.CreateDirectory(OutDir);
        string dataDir = Path.Combine(OutDir, "data");
        DataPreparer.PrepareOnce(Data, "char", dataDir);
        int vocab = TokenizerFactory.Load(dataDir).VocabSize;
        int tokensPerStep = baseline.Training.BatchSize * baseline.Training.GradientAccumulationSteps * baseline.Model.BlockSize;
        int evalIters = Math.Max(1, (int)Math.Ceiling((double)EvalTokens / (baseline.Training.BatchSize * baseline.Model.BlockSize)));

        var plan = LoadOrMakePlan(baseline, dataDir, vocab, tokensPerStep, evalIters, wall);
        var grid = (from steps in plan.BudgetSteps from width in Widths select (width, steps)).ToList();
        var estimates = grid.Select(g => Estimate(plan, g.width, g.steps, evalIters)).ToList();
        double predictionEstimate = plan.PredictionEstimateSeconds;
        double estimated = 0, actual = 0;
        var runs = new List<ScalingRun>();
        for (int i = 0; i < grid.Count; i++)
        {
            var (width, steps) = grid[i];
            double slowdown = estimated > 0 ? actual / estimated : 1;
            double left = (estimates.Skip(i).Sum() + predictionEstimate) * slowdown;
            Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"[{i + 1}/{grid.Count}] width {width}, {steps:N0} steps ({(long)steps * tokensPerStep:N0} tokens): est. {estimates[i] * slowdown:F0} s; experiment ETA {Clock(left)} (elapsed {Clock(wall.Elapsed.TotalSeconds)})"));
            var run = Train(baseline, vocab, width, steps, tokensPerStep, evalIters, $"w{width}-{steps}steps");
            runs.Add(run);
            estimated += estimates[i];
            actual += run.WallSeconds;
            Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"  val loss {run.FinalValLoss:F4}, {run.WallSeconds:F0} s ({run.TokensPerSecond:N0} tokens/s){(run.Resumed ? " — already finished, skipped" : "")}"));
        }
        MarkFrontier(runs);

        long maxTokens = runs.Max(r => r.Tokens);
        var kaplanPoints = runs.Where(r => r.Tokens == maxTokens).Select(r => new LossPoint(r.NonEmbeddingParams, r.Tokens, r.FinalValLoss)).ToList();
        var kaplan = KaplanFit.Fit(kaplanPoints);
        var fitWatch = Stopwatch.StartNew();
        var chinchilla = ChinchillaFit.Fit(runs.Select(r => new LossPoint(r.NonEmbeddingParams, r.Tokens, r.FinalValLoss)).ToList());
        Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"Kaplan (largest budget, {maxTokens:N0} tokens): N_c = {kaplan.Nc:G4}, α_N = {kaplan.AlphaN:F4}, R² = {kaplan.RSquared:F4}"));
        Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"Chinchilla (all {runs.Count} runs, {chinchilla.Initialisations} initialisations, {fitWatch.Elapsed.TotalSeconds:F1} s): E = {chinchilla.E:F4}, A = {chinchilla.A:G4}, α = {chinchilla.Alpha:F4}, B = {chinchilla.B:G4}, β = {chinchilla.Beta:F4}, R² = {chinchilla.RSquared:F4}"));

        var prediction = Predict(baseline, vocab, plan, runs, kaplan, chinchilla, tokensPerStep, evalIters, wall);
        var results = new ScalingResults
        {
            Experiment = "scaling", Data = Path.GetFullPath(Data), Tokenizer = "char", Seed = Seed, Minutes = Minutes,
            WallSeconds = Math.Round(wall.Elapsed.TotalSeconds, 1), Plan = plan, Runs = runs,
            Kaplan = kaplan, KaplanTokens = maxTokens, Chinchilla = chinchilla, Prediction = prediction,
        };
        Write(results);
        return results;
    }

    void Validate(PretrainConfig baseline)
    {
        if (Minutes <= 0) throw new InvalidInputException($"--minutes {Minutes}: must be positive");
        if (Widths.Count < 2) throw new InvalidInputException($"--widths: at least two sizes are needed for a law, not {Widths.Count}");
        if (Widths.Any(w => w <= 0 || w % baseline.Model.NHead != 0))
            throw new InvalidInputException($"--widths {string.Join(",", Widths)}: each must be a positive multiple of n_head ({baseline.Model.NHead})");
        if (Widths.Distinct().Count() != Widths.Count) throw new InvalidInputException($"--widths {string.Join(",", Widths)}: repeated width");
        int budgets = BudgetSteps?.Count ?? Budgets;
        if (budgets < 2) throw new InvalidInputException($"--budgets {budgets}: at least two token budgets are needed to separate N from D");
        if (Widths.Count * budgets < 5) throw new InvalidInputException($"{Widths.Count} sizes × {budgets} budgets: the Chinchilla fit has five parameters and needs at least five runs");
        if (BudgetSteps is { } explicitSteps && (explicitSteps.Any(s => s < 1) || explicitSteps.Zip(explicitSteps.Skip(1)).Any(p => p.First >= p.Second)))
            throw new InvalidInputException($"budget steps {string.Join(",", explicitSteps)}: must be positive and ascending");
        if (!(BudgetRatio > 1)) throw new InvalidInputException($"--budget-ratio {BudgetRatio}: must be above 1");
        if (CalibrationSteps <= 10) throw new InvalidInputException($"calibration steps {CalibrationSteps}: must exceed the 10 warm-up steps the trainer's median leaves out");
        if (!(PredictionComputeFactor > 1)) throw new InvalidInputException($"prediction compute factor {PredictionComputeFactor}: must be above 1 (an extrapolation)");
    }

    /// <summary>The family member of width <paramref name="width"/>: the baseline's depth, heads and context.</summary>
    static ModelConfig Model(PretrainConfig baseline, int vocab, int width) => baseline.Model with { NEmbd = width, VocabSize = vocab };

    /// <summary>
    /// Kaplan's N: every parameter except the token embedding, a learned position table and an untied output head
    /// (the unembedding), counted from the config as <see cref="PlanModel.CountParameters"/> does.
    /// </summary>
    public static long NonEmbeddingParameters(ModelConfig config)
    {
        double total = PlanModel.CountParameters(config);
        double embeddings = (double)config.VocabSize * config.NEmbd * (config.TieEmbeddings ? 1 : 2)
            + (config.PositionEncoding == "learned" ? (double)config.BlockSize * config.NEmbd : 0);
        return (long)Math.Round(total - embeddings);
    }

    /// <summary>The run's settings: a cosine schedule from Kaplan's learning rate for N down to a tenth of it, ending at
    /// <paramref name="steps"/>; evaluation only at the start and the end (so every run's final loss uses the same validation
    /// batches); checkpoints at quarters so a killed run resumes near where it stopped.</summary>
    PretrainConfig RunConfig(PretrainConfig baseline, ModelConfig model, int steps, int evalIters)
    {
        double lr = ScalingLaws.KaplanLearningRate(NonEmbeddingParameters(model));
        int floorRatio = (int)Math.Round(baseline.Training.LearningRate / baseline.Training.MinLr); // the preset's peak-to-floor ratio
        return baseline with
        {
            Description = $"scaling experiment: width {model.NEmbd}, {steps} steps",
            Model = model,
            Training = baseline.Training with
            {
                MaxIters = steps, LrDecayIters = steps, WarmupIters = Math.Min(baseline.Training.WarmupIters, steps / 10),
                LearningRate = Math.Round(lr, 6), MinLr = Math.Round(lr / floorRatio, 7), MaxSeconds = 0,
                EvalInterval = steps, EvalIters = evalIters, CheckpointInterval = Math.Max(1, steps / 4), Seed = Seed,
            },
        };
    }

    ScalingRun Train(PretrainConfig baseline, int vocab, int width, int steps, int tokensPerStep, int evalIters, string name)
    {
        var model = Model(baseline, vocab, width);
        var config = RunConfig(baseline, model, steps, evalIters);
        string dir = Path.Combine(OutDir, "runs", name);
        bool finished = File.Exists(Path.Combine(dir, Trainer.SummaryFile));
        var summary = Pretraining.Run(config, Path.Combine(OutDir, "data"), dir, ObserverFor?.Invoke(name), resume: true);
        long tokens = (long)summary.Iters * tokensPerStep;
        long n = NonEmbeddingParameters(model);
        return new ScalingRun
        {
            Name = name, Width = width, Layers = model.NLayer, NonEmbeddingParams = n, TotalParams = summary.Params,
            Steps = summary.Iters, Tokens = tokens, Flops = ScalingLaws.Flops(n, tokens), LearningRate = config.Training.LearningRate,
            FinalValLoss = summary.FinalValLoss, FinalTrainLoss = summary.FinalTrainLoss, TrainSeconds = summary.TrainSeconds,
            WallSeconds = summary.WallSeconds, TokensPerSecond = summary.TokensPerSecond, Resumed = finished,
        };
    }

    /// <summary>Seconds a run of <paramref name="steps"/> at <paramref name="width"/> should take by the calibration:
    /// its steps, two evaluations of both splits (forward passes) and the start-up overhead.</summary>
    static double Estimate(ScalingPlan plan, int width, int steps, int evalIters)
    {
        var c = plan.Calibration.First(k => k.Width == width);
        double step = c.MedianMsPerIter / 1000;
        return steps * step + 4 * evalIters * step * ForwardShareOfStep + c.OverheadSeconds;
    }

    ScalingPlan LoadOrMakePlan(PretrainConfig baseline, string dataDir, int vocab, int tokensPerStep, int evalIters, Stopwatch wall)
    {
        string path = Path.Combine(OutDir, PlanFile);
        var options = new ScalingOptions(Minutes, Seed, Widths.ToList(), BudgetSteps?.Count ?? Budgets, BudgetRatio, BudgetSteps?.ToList(), EvalTokens,
            PredictionComputeFactor, JsonSerializer.Serialize(baseline, Json.Line));
        if (File.Exists(path))
        {
            var saved = Json.ReadFile<ScalingPlan>(path);
            if (JsonSerializer.Serialize(saved.Options, Json.Line) != JsonSerializer.Serialize(options, Json.Line))
                throw InvalidInputException.ForFile(path, "was planned with other options (minutes, seed, widths, budgets or baseline); re-run with the same options to resume, or choose another --out");
            Log?.Invoke($"resuming the plan in {path}: budgets {string.Join(", ", saved.BudgetSteps)} steps");
            return saved;
        }

        var calibration = new List<SizeCalibration>();
        foreach (int width in Widths)
        {
            var model = Model(baseline, vocab, width);
            var config = RunConfig(baseline, model, CalibrationSteps, 1);
            var summary = Pretraining.Run(config, dataDir, Path.Combine(OutDir, "calibration", $"w{width}"), null, resume: true);
            double overhead = summary.WallSeconds - summary.TrainSeconds;
            calibration.Add(new SizeCalibration(width, NonEmbeddingParameters(model), summary.MedianMsPerIter, Math.Round(overhead, 2)));
            Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"calibration: width {width}, N = {NonEmbeddingParameters(model):N0}: {summary.MedianMsPerIter:F1} ms/step ({summary.TokensPerSecond:N0} tokens/s), {overhead:F1} s start-up"));
        }
        var plan = new ScalingPlan { Options = options, TokensPerStep = tokensPerStep, Calibration = calibration, BudgetSteps = Array.Empty<int>() };

        // Seconds per step of each size, summed over the grid's budgets, plus the prediction run: 4× the compute of the
        // largest size's largest budget. Its size is not known before the fit; N_opt grows with compute, so it is costed
        // at the largest size's speed for PredictionComputeFactor × the largest budget.
        var largest = calibration.MaxBy(c => c.NonEmbeddingParams)!;
        int budgets = BudgetSteps?.Count ?? Budgets;
        double[] fractions = Enumerable.Range(0, budgets).Select(k => Math.Pow(BudgetRatio, -(budgets - 1 - k))).ToArray();
        double fixedSeconds = wall.Elapsed.TotalSeconds
            + calibration.Sum(c => budgets * (c.OverheadSeconds + 4 * evalIters * c.MedianMsPerIter / 1000 * ForwardShareOfStep))
            + largest.OverheadSeconds + 4 * evalIters * largest.MedianMsPerIter / 1000 * ForwardShareOfStep;
        double secondsPerLargestStep = calibration.Sum(c => c.MedianMsPerIter / 1000) * fractions.Sum() + PredictionComputeFactor * largest.MedianMsPerIter / 1000;
        IReadOnlyList<int> steps;
        if (BudgetSteps is { } explicitSteps) steps = explicitSteps;
        else
        {
            int maxSteps = (int)Math.Floor((Minutes * 60 - fixedSeconds) / secondsPerLargestStep);
            steps = fractions.Select(f => (int)Math.Round(maxSteps * f)).ToList();
            int minimum = 2 * baseline.Training.WarmupIters; // the cosine decay, not warm-up, should take most of every run
            if (steps[0] < minimum)
                throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture,
                    $"--minutes {Minutes}: the smallest budget would be {steps[0]} steps (the calibrated sizes need {fixedSeconds / 60:F1} min before any step); at least {minimum} are needed — give more minutes, fewer widths or a smaller --budget-ratio"));
        }
        plan = plan with { BudgetSteps = steps.ToList() };
        double grid = (from s in steps from w in Widths select Estimate(plan, w, s, evalIters)).Sum();
        double prediction = PredictionComputeFactor * steps[^1] * largest.MedianMsPerIter / 1000 + largest.OverheadSeconds + 4 * evalIters * largest.MedianMsPerIter / 1000 * ForwardShareOfStep;
        plan = plan with { GridEstimateSeconds = Math.Round(grid, 1), PredictionEstimateSeconds = Math.Round(prediction, 1) };
        double total = wall.Elapsed.TotalSeconds + grid + prediction;
        if (total > Minutes * 60)
            throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture,
                $"--minutes {Minutes}: the grid ({string.Join(", ", steps)} steps × {Widths.Count} widths) and the prediction run are estimated at {total / 60:F1} min"));
        Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"plan: {Widths.Count} widths × budgets of {string.Join(", ", steps.Select(s => $"{(long)s * tokensPerStep:N0}"))} tokens ({string.Join(", ", steps)} steps); estimated {grid / 60:F1} min for the grid and {prediction / 60:F1} min for the {PredictionComputeFactor}× prediction, {total / 60:F1} of {Minutes} min in all"));
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(plan, Json.Options));
        return plan;
    }

    /// <summary>Marks the compute-efficient frontier: the runs with a lower loss than every run of no more compute.</summary>
    static void MarkFrontier(List<ScalingRun> runs)
    {
        double best = double.PositiveInfinity;
        foreach (var r in runs.OrderBy(r => r.Flops).ThenBy(r => r.FinalValLoss).ToList())
        {
            if (r.FinalValLoss < best)
            {
                best = r.FinalValLoss;
                runs[runs.IndexOf(r)] = r with { OnFrontier = true };
            }
        }
    }

    /// <summary>
    /// The compute-optimal (N, D) of the Chinchilla fit for <see cref="PredictionComputeFactor"/> × the largest grid run's
    /// compute, N rounded to the nearest width of the family (a multiple of n_head), D re-derived so the compute stays
    /// the target, then rounded to whole steps; the prediction is the fit at those rounded values.
    /// </summary>
    ScalingPrediction Predict(PretrainConfig baseline, int vocab, ScalingPlan plan, IReadOnlyList<ScalingRun> runs, KaplanFit kaplan, ChinchillaFit fit, int tokensPerStep, int evalIters, Stopwatch wall)
    {
        double largestFlops = runs.Max(r => r.Flops);
        double flops = PredictionComputeFactor * largestFlops;
        var (nOpt, dOpt) = fit.Optimum(flops);
        int head = baseline.Model.NHead;
        // Widths up to 8× the largest grid width: a fit that asks for more is reported at that width, not silently trusted.
        var candidates = Enumerable.Range(1, 8 * Widths.Max() / head).Select(k => k * head);
        int width = candidates.MinBy(w => Math.Abs(Math.Log(NonEmbeddingParameters(Model(baseline, vocab, w))) - Math.Log(nOpt)));
        long n = NonEmbeddingParameters(Model(baseline, vocab, width));
        int steps = Math.Max(1, (int)Math.Round(flops / 6 / n / tokensPerStep));
        long tokens = (long)steps * tokensPerStep;
        double predicted = fit.Loss(n, tokens);
        // Costed at the speed of the calibrated width nearest in N (a step's cost changes little between neighbours).
        var nearest = plan.Calibration.MinBy(c => Math.Abs(Math.Log(c.NonEmbeddingParams) - Math.Log(n)))!;
        double estimate = steps * nearest.MedianMsPerIter / 1000 * (1 + 4.0 * evalIters / steps * ForwardShareOfStep) + nearest.OverheadSeconds;
        double left = Minutes * 60 - wall.Elapsed.TotalSeconds;
        string name = $"predict-w{width}-{steps}steps";
        Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"prediction: {PredictionComputeFactor}× the largest run's {largestFlops:G3} FLOPs = {flops:G3}: N_opt = {nOpt:N0}, D_opt = {dOpt:N0}; width {width} (N = {n:N0}) for {tokens:N0} tokens ({steps:N0} steps), predicted loss {predicted:F4}; est. {estimate / 60:F1} min, {left / 60:F1} min of the budget left"));
        var prediction = new ScalingPrediction
        {
            Flops = flops, ComputeFactor = PredictionComputeFactor, OptimalParams = nOpt, OptimalTokens = dOpt, Name = name, Width = width,
            Params = n, Tokens = tokens, PredictedLoss = predicted, KaplanLoss = kaplan.Loss(n), EstimatedSeconds = Math.Round(estimate, 1),
        };
        bool finished = File.Exists(Path.Combine(OutDir, "runs", name, Trainer.SummaryFile));
        if (!finished && estimate > left + PredictionOverrun * Minutes * 60)
        {
            string reason = string.Create(CultureInfo.InvariantCulture,
                $"not trained: estimated {estimate / 60:F1} min against {Math.Max(0, left) / 60:F1} min left of --minutes {Minutes} (+{PredictionOverrun:P0} allowed)");
            Log?.Invoke($"  {reason}");
            return prediction with { NotTrained = reason };
        }
        var run = Train(baseline, vocab, width, steps, tokensPerStep, evalIters, name);
        Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"  measured {run.FinalValLoss:F4} (predicted {predicted:F4}, miss {run.FinalValLoss - predicted:+0.0000;-0.0000}) in {run.WallSeconds:F0} s{(run.Resumed ? " — already finished, skipped" : "")}"));
        return prediction with { Run = run, MeasuredLoss = run.FinalValLoss, Miss = run.FinalValLoss - predicted };
    }

    void Write(ScalingResults r)
    {
        AtomicFile.WriteAllText(Path.Combine(OutDir, ResultsJson), JsonSerializer.Serialize(r, Json.Options));
        AtomicFile.WriteAllText(Path.Combine(OutDir, ResultsMarkdown), Markdown(r));
        ScalingPlots.LossVsParameters(Path.Combine(OutDir, LossVsParametersPlot), r);
        ScalingPlots.Frontier(Path.Combine(OutDir, FrontierPlot), r);
        ScalingPlots.IsoFlop(Path.Combine(OutDir, IsoFlopPlot), r);
    }

    /// <summary>results.md: every run, the fits with R², and the prediction against the measurement.</summary>
    public static string Markdown(ScalingResults r)
    {
        string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        var rows = r.Runs.Concat(r.Prediction.Run is { } trained ? new[] { trained } : Array.Empty<ScalingRun>()).Select(x => (IReadOnlyList<string>)new[]
        {
            x.Name, x.Width.ToString(CultureInfo.InvariantCulture), x.NonEmbeddingParams.ToString("N0", CultureInfo.InvariantCulture),
            x.Tokens.ToString("N0", CultureInfo.InvariantCulture), F(x.Flops, "0.00e+0"), F(x.LearningRate, "0.#####"), F(x.FinalValLoss, "F4"),
            F(x.WallSeconds, "F1"), x.TokensPerSecond.ToString("N0", CultureInfo.InvariantCulture), x.OnFrontier ? "yes" : "",
        });
        var c = r.Chinchilla;
        var k = r.Kaplan;
        var p = r.Prediction;
        var sb = new StringBuilder("# Scaling laws on a character-level corpus\n\n");
        sb.Append(ComparisonReport.Table(new[] { "run", "width", "N (non-embedding)", "D (tokens)", "C = 6ND", "peak lr", "final val loss", "seconds", "tokens/s", "frontier" }, rows));
        sb.Append(CultureInfo.InvariantCulture, $"\nN excludes the token embedding (tied with the head) and the position table, as Kaplan et al. count it; every model has {r.Runs[0].Layers} layers and differs only in width. ");
        sb.Append(CultureInfo.InvariantCulture, $"Each run's cosine schedule ends at its own budget; final val loss is the mean over {r.Plan.Options.EvalTokens:N0}+ validation tokens, the same batches for every run. ");
        sb.Append("The last row is the prediction run. \"frontier\": lower loss than every run of no more compute.\n\n");
        sb.Append("## Fits\n\n");
        sb.Append(ComparisonReport.Table(new[] { "law", "fitted on", "parameters", "R² (nats)" }, new[]
        {
            (IReadOnlyList<string>)new[] { "Kaplan L(N) = (N_c/N)^α_N", $"the largest budget ({r.KaplanTokens:N0} tokens, {k.Points} sizes)", $"N_c = {F(k.Nc, "G4")}, α_N = {F(k.AlphaN, "F4")}", F(k.RSquared, "F4") },
            new[] { "Chinchilla L(N,D) = E + A/N^α + B/D^β", $"all {c.Points} grid runs (Huber δ = 10⁻³ on log L, L-BFGS from {c.Initialisations} starts)",
                $"E = {F(c.E, "F4")}, A = {F(c.A, "G4")}, α = {F(c.Alpha, "F4")}, B = {F(c.B, "G4")}, β = {F(c.Beta, "F4")}", F(c.RSquared, "F4") },
        }));
        sb.Append(CultureInfo.InvariantCulture, $"\n## Prediction at {F(p.ComputeFactor, "0.##")}× the largest grid compute\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"C = {F(p.Flops, "0.00e+0")} FLOPs: the fit's optimum is N = {p.OptimalParams:N0}, D = {p.OptimalTokens:N0} ({F(p.OptimalTokens / p.OptimalParams, "F1")} tokens per parameter). ");
        sb.Append(CultureInfo.InvariantCulture, $"Rounded to the family: width {p.Width} (N = {p.Params:N0}) for {p.Tokens:N0} tokens; Kaplan's L(N) there: {F(p.KaplanLoss, "F4")}. ");
        sb.Append(p.MeasuredLoss is double measured && p.Miss is double miss
            ? string.Create(CultureInfo.InvariantCulture, $"Predicted loss **{F(p.PredictedLoss, "F4")}**, measured **{F(measured, "F4")}**: miss {F(miss, "+0.0000;-0.0000")} nats.\n\n")
            : string.Create(CultureInfo.InvariantCulture, $"Predicted loss **{F(p.PredictedLoss, "F4")}**; {p.NotTrained}.\n\n"));
        sb.Append(CultureInfo.InvariantCulture, $"Wall time {F(r.WallSeconds / 60, "F1")} min (budget {F(r.Minutes, "0.#")} min; planned {F((r.Plan.GridEstimateSeconds + r.Plan.PredictionEstimateSeconds) / 60, "F1")} min for training).\n");
        return sb.ToString();
    }

    static string Clock(double seconds) => TimeSpan.FromSeconds(Math.Max(0, seconds)).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);
}

/// <summary>The options a plan was made for; a re-run must match them to reuse it.</summary>
public sealed record ScalingOptions(double Minutes, int Seed, IReadOnlyList<int> Widths, int Budgets, double BudgetRatio, IReadOnlyList<int>? BudgetSteps,
    int EvalTokens, double PredictionComputeFactor, string Baseline);

/// <summary>One size's calibration: its speed through the trainer and its start-up seconds.</summary>
public sealed record SizeCalibration(int Width, long NonEmbeddingParams, double MedianMsPerIter, double OverheadSeconds);

/// <summary>plan.json: the grid derived from the options and the calibration, with its time estimates.</summary>
public sealed record ScalingPlan
{
    /// <summary>The options the plan was made for.</summary>
    public required ScalingOptions Options { get; init; }
    /// <summary>Tokens per optimizer step (batch × accumulation × context).</summary>
    public required int TokensPerStep { get; init; }
    /// <summary>Each width's measured speed.</summary>
    public required IReadOnlyList<SizeCalibration> Calibration { get; init; }
    /// <summary>Optimizer steps of each token budget, ascending.</summary>
    public required IReadOnlyList<int> BudgetSteps { get; init; }
    /// <summary>Estimated seconds of the grid's runs.</summary>
    public double GridEstimateSeconds { get; init; }
    /// <summary>Estimated seconds of the prediction run (costed at the largest size's speed).</summary>
    public double PredictionEstimateSeconds { get; init; }
}

/// <summary>One trained run of the experiment.</summary>
public sealed record ScalingRun
{
    /// <summary>The run directory's name under runs/.</summary>
    public required string Name { get; init; }
    /// <summary>n_embd.</summary>
    public required int Width { get; init; }
    /// <summary>n_layer.</summary>
    public required int Layers { get; init; }
    /// <summary>N: parameters without the token embedding and position table.</summary>
    public required long NonEmbeddingParams { get; init; }
    /// <summary>Every parameter of the model.</summary>
    public required long TotalParams { get; init; }
    /// <summary>Optimizer steps taken.</summary>
    public required int Steps { get; init; }
    /// <summary>D: training tokens seen.</summary>
    public required long Tokens { get; init; }
    /// <summary>C = 6ND.</summary>
    public required double Flops { get; init; }
    /// <summary>The schedule's peak learning rate (Kaplan's for N).</summary>
    public required double LearningRate { get; init; }
    /// <summary>Mean validation loss at the end, nats per character.</summary>
    public required double FinalValLoss { get; init; }
    /// <summary>Mean training loss at the end.</summary>
    public required double FinalTrainLoss { get; init; }
    /// <summary>Seconds in the training loop.</summary>
    public required double TrainSeconds { get; init; }
    /// <summary>Seconds of the whole run.</summary>
    public required double WallSeconds { get; init; }
    /// <summary>Training tokens per second at the median step.</summary>
    public required double TokensPerSecond { get; init; }
    /// <summary>True when this invocation found the run already finished and trained nothing.</summary>
    public bool Resumed { get; init; }
    /// <summary>On the compute-efficient frontier: lower loss than every run of no more compute.</summary>
    public bool OnFrontier { get; init; }
}

/// <summary>The Chinchilla fit's compute-optimal model for a larger budget, and its measurement when it was trained.</summary>
public sealed record ScalingPrediction
{
    /// <summary>The budget C in FLOPs.</summary>
    public required double Flops { get; init; }
    /// <summary>C over the largest grid run's compute.</summary>
    public required double ComputeFactor { get; init; }
    /// <summary>The fit's N_opt(C) before rounding to a width.</summary>
    public required double OptimalParams { get; init; }
    /// <summary>The fit's D_opt(C).</summary>
    public required double OptimalTokens { get; init; }
    /// <summary>The run directory's name under runs/.</summary>
    public required string Name { get; init; }
    /// <summary>The family width nearest N_opt.</summary>
    public required int Width { get; init; }
    /// <summary>Its N.</summary>
    public required long Params { get; init; }
    /// <summary>D for C at that N, in whole steps.</summary>
    public required long Tokens { get; init; }
    /// <summary>The fit's loss at that N and D.</summary>
    public required double PredictedLoss { get; init; }
    /// <summary>Kaplan's L(N) at that N, for comparison: a law for converged models, blind to D.</summary>
    public required double KaplanLoss { get; init; }
    /// <summary>The run's estimated seconds from the calibration.</summary>
    public required double EstimatedSeconds { get; init; }
    /// <summary>The trained run; null when it was not trained (<see cref="NotTrained"/>).</summary>
    public ScalingRun? Run { get; init; }
    /// <summary>The run's final validation loss.</summary>
    public double? MeasuredLoss { get; init; }
    /// <summary>Measured − predicted, nats.</summary>
    public double? Miss { get; init; }
    /// <summary>Why the run was not trained; null when it was.</summary>
    public string? NotTrained { get; init; }
}

/// <summary>results.json.</summary>
public sealed record ScalingResults
{
    /// <summary>"scaling".</summary>
    public required string Experiment { get; init; }
    /// <summary>The corpus file.</summary>
    public required string Data { get; init; }
    /// <summary>The tokenizer ("char").</summary>
    public required string Tokenizer { get; init; }
    /// <summary>The seed of every run.</summary>
    public required int Seed { get; init; }
    /// <summary>The time budget.</summary>
    public required double Minutes { get; init; }
    /// <summary>Seconds this invocation took (less than the experiment's when it resumed finished runs).</summary>
    public required double WallSeconds { get; init; }
    /// <summary>The grid and its calibration.</summary>
    public required ScalingPlan Plan { get; init; }
    /// <summary>Every grid run.</summary>
    public required IReadOnlyList<ScalingRun> Runs { get; init; }
    /// <summary>Kaplan's L(N) on the largest budget.</summary>
    public required KaplanFit Kaplan { get; init; }
    /// <summary>The token budget the Kaplan fit used.</summary>
    public required long KaplanTokens { get; init; }
    /// <summary>Chinchilla's L(N, D) on every grid run.</summary>
    public required ChinchillaFit Chinchilla { get; init; }
    /// <summary>The extrapolation and its measurement.</summary>
    public required ScalingPrediction Prediction { get; init; }
}
