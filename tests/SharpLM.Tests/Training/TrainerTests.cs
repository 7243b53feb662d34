using SharpLM.Modeling;
using SharpLM.Training;
using TorchSharp;
using SharpLM.Checkpoints;

namespace SharpLM.Tests.Training;

public class TrainerTests
{
    sealed class Recorder : ITrainingObserver
    {
        public readonly List<StepRecord> Steps = new();
        public readonly List<RollbackRecord> Rollbacks = new();
        public Action<StepRecord>? AfterStep;
        public void OnStep(StepRecord step, TimeSpan eta) { Steps.Add(step); AfterStep?.Invoke(step); }
        public void OnRollback(RollbackRecord r) => Rollbacks.Add(r);
    }

    [Fact]
    public void Tiny_model_overfits_a_tiny_corpus()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        var config = TinyRuns.Config(maxIters: 150, evalInterval: 50);
        var summary = new Trainer(config, data, dir.File("run")).Run(resume: false);
        // The text is periodic, so only the first positions of a window are uncertain: loss must collapse.
        Assert.True(summary.FinalTrainLoss < 0.5, $"train loss {summary.FinalTrainLoss}");
        Assert.True(File.Exists(Path.Combine(dir.File("run"), LossCurvePlot.FileName)));
        var (steps, evals) = MetricsLog.Read(dir.File("run"));
        Assert.Equal(150, steps.Count);
        Assert.Equal(new[] { 0, 50, 100, 150 }, evals.Select(e => e.Step));
        Assert.True(summary.FinalTrainLoss < evals[0].TrainLoss / 6, $"{evals[0].TrainLoss} → {summary.FinalTrainLoss}");
    }

    [Fact]
    public void A_time_budget_ends_the_run_and_the_learning_rate_decays_over_the_budget()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        var config = TinyRuns.Config(maxIters: 1_000_000, evalInterval: 1_000_000);
        config = config with { Training = config.Training with { MaxSeconds = 2 } };
        var summary = new Trainer(config, data, dir.File("run")).Run(resume: false);
        Assert.True(summary.Iters is > 5 and < 1_000_000, $"{summary.Iters} steps");
        Assert.True(summary.TrainSeconds >= 2, $"stopped after {summary.TrainSeconds} s");
        var (steps, evals) = MetricsLog.Read(dir.File("run"));
        Assert.Equal(new[] { 0, summary.Iters }, evals.Select(e => e.Step)); // the final evaluation still happens
        Assert.True(evals[^1].Seconds >= 2);
        var t = config.Training;
        var decaying = steps.Where(r => r.Step >= t.WarmupIters).Select(r => r.Lr).ToList();
        Assert.True(decaying.Zip(decaying.Skip(1)).All(p => p.Second <= p.First), "the schedule must only decay after warm-up");
        Assert.True(decaying[^1] < t.MinLr + 0.1 * (t.LearningRate - t.MinLr), $"last lr {decaying[^1]}: the budget was used up, so the decay is nearly complete");
        Assert.Equal(t.MinLr + 0.5 * (t.LearningRate - t.MinLr), LearningRateSchedule.At(t.WarmupIters + 1, t, budgetFraction: 0.5), 12);
    }

    [Theory]
    [InlineData(1, 0.1)] // one thread, one shard; dropout exercises the saved libtorch RNG state
    [InlineData(2, 0.0)] // two threads: the batch is split into two concurrently trained halves
    public void Killed_and_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one(int threads, double dropout)
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        var baseConfig = TinyRuns.Config(maxIters: 30, evalInterval: 10);
        var config = baseConfig with { Model = TinyRuns.Model() with { Dropout = dropout }, Training = baseConfig.Training with { Threads = threads } };

        new Trainer(config, data, dir.File("straight")).Run(resume: false);

        using var cancel = new CancellationTokenSource();
        var recorder = new Recorder { AfterStep = s => { if (s.Step == 16) cancel.Cancel(); } };
        Assert.Throws<OperationCanceledException>(() => new Trainer(config, data, dir.File("resumed"), recorder).Run(false, cancel.Token));
        Assert.Equal(10, Checkpoint.ReadManifest(dir.File("resumed")).Step);
        Assert.Throws<InvalidInputException>(() => new Trainer(config, data, dir.File("resumed")).Run(resume: false)); // never overwrites
        var summary = new Trainer(config, data, dir.File("resumed")).Run(resume: true);
        Assert.Equal(threads, summary.BatchShards);

        var (a, _) = Checkpoint.LoadModel(dir.File("straight"), torch.CPU);
        var (b, _) = Checkpoint.LoadModel(dir.File("resumed"), torch.CPU);
        foreach (var ((name, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(pa.Equals(pb), $"{name} differs");
        // The log holds each step once, as if the run had never stopped.
        var (steps, _) = MetricsLog.Read(dir.File("resumed"));
        Assert.Equal(Enumerable.Range(0, 30), steps.Select(s => s.Step));
        Assert.Equal(MetricsLog.Read(dir.File("straight")).Steps.Select(s => s.TrainLoss), steps.Select(s => s.TrainLoss));
    }

    [Fact]
    public void Resuming_a_finished_run_says_so_and_changes_nothing()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        var config = TinyRuns.Config(maxIters: 20, evalInterval: 10);
        string run = dir.File("run");
        var first = new Trainer(config, data, run).Run(resume: false);
        var before = Directory.EnumerateFiles(run, "*", SearchOption.AllDirectories).Order()
            .ToDictionary(f => f, f => (Bytes: File.ReadAllBytes(f), Written: File.GetLastWriteTimeUtc(f)));

        var finished = new List<(TrainingSummary Summary, string Directory)>();
        var observer = new FinishedRecorder(finished);
        var again = new Trainer(config, data, run, observer).Run(resume: true);

        var (summary, where) = Assert.Single(finished);
        Assert.Equal(run, where);
        Assert.Equal(20, summary.Iters);
        Assert.Empty(observer.Steps);
        Assert.Equal(first.FinalTrainLoss, again.FinalTrainLoss);
        Assert.Equal(first.PeakRssMb, again.PeakRssMb);
        Assert.True(double.IsFinite(again.FinalTrainLoss) && again.PeakRssMb > 0);
        var after = Directory.EnumerateFiles(run, "*", SearchOption.AllDirectories).Order().ToList();
        Assert.Equal(before.Keys, after);
        foreach (string f in after)
        {
            Assert.True(before[f].Bytes.AsSpan().SequenceEqual(File.ReadAllBytes(f)), $"{f} changed");
            Assert.Equal(before[f].Written, File.GetLastWriteTimeUtc(f));
        }
    }

    sealed class FinishedRecorder(List<(TrainingSummary, string)> finished) : ITrainingObserver
    {
        public readonly List<StepRecord> Steps = new();
        public void OnStep(StepRecord step, TimeSpan eta) => Steps.Add(step);
        public void OnAlreadyFinished(TrainingSummary summary, string directory) => finished.Add((summary, directory));
    }

    [Fact]
    public void Nan_loss_rolls_back_to_the_last_checkpoint_and_skips_the_batch()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        int calls = 0;
        Trainer.LossValueHook = (step, loss) => ++calls == 15 ? double.NaN : loss; // the 15th step computed is step 14
        try
        {
            var recorder = new Recorder();
            var summary = new Trainer(TinyRuns.Config(maxIters: 25, evalInterval: 10), data, dir.File("run"), recorder).Run(false);
            var rollback = Assert.Single(recorder.Rollbacks);
            Assert.Equal(14, rollback.Step);
            Assert.Equal(10, rollback.RolledBackTo);
            Assert.Equal(1, summary.Rollbacks);
            Assert.True(double.IsFinite(summary.FinalValLoss));
            Assert.Contains("\"event\":\"rollback\"", File.ReadAllText(Path.Combine(dir.File("run"), MetricsLog.FileName)));
            // The undone steps 10–13 left the log: every step appears once.
            Assert.Equal(Enumerable.Range(0, 25), MetricsLog.Read(dir.File("run")).Steps.Select(s => s.Step));
        }
        finally
        {
            Trainer.LossValueHook = null;
        }
    }

    [Fact]
    public void Loss_spike_after_warmup_is_rolled_back_before_its_update_lands()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        bool spiked = false;
        Trainer.LossValueHook = (step, loss) =>
        {
            if (step != 13 || spiked) return loss;
            spiked = true; // once: the replayed step 13 after the rollback is normal
            return loss * 10;
        };
        try
        {
            var recorder = new Recorder();
            new Trainer(TinyRuns.Config(maxIters: 25, evalInterval: 10), data, dir.File("run"), recorder).Run(false);
            var rollback = Assert.Single(recorder.Rollbacks);
            Assert.Equal(13, rollback.Step);
            Assert.Contains("spiked", rollback.Reason);
            Assert.Equal(25, recorder.Steps[^1].Step + 1);
        }
        finally
        {
            Trainer.LossValueHook = null;
        }
    }

    [Fact]
    public void Divergence_beyond_the_rollback_budget_stops_with_an_error()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        Trainer.LossValueHook = (_, _) => double.PositiveInfinity;
        try
        {
            var tiny = TinyRuns.Config(maxIters: 20);
            var config = tiny with { Training = tiny.Training with { MaxRollbacks = 2 } };
            var e = Assert.Throws<InvalidOperationException>(() => new Trainer(config, data, dir.File("run")).Run(false));
            Assert.Contains("diverged", e.Message);
        }
        finally
        {
            Trainer.LossValueHook = null;
        }
    }

    [Fact]
    public void Learning_rate_warms_up_linearly_then_decays_by_cosine_to_the_floor()
    {
        var c = new TrainingConfig { LearningRate = 1e-3, MinLr = 1e-4, WarmupIters = 100, LrDecayIters = 2000 };
        Assert.Equal(1e-3 / 101, LearningRateSchedule.At(0, c), 12);
        Assert.Equal(1e-3, LearningRateSchedule.At(100, c), 12);
        Assert.Equal((1e-3 + 1e-4) / 2, LearningRateSchedule.At(1050, c), 12);
        Assert.Equal(1e-4, LearningRateSchedule.At(2000, c), 12);
        Assert.Equal(1e-4, LearningRateSchedule.At(5000, c), 12);
    }

    [Fact]
    public void Weight_decay_skips_biases_norms_and_embeddings()
    {
        var model = new Gpt(TinyRuns.Model());
        var (decay, noDecay) = WeightDecayGroups.Split(model);
        var names = model.named_parameters().ToDictionary(p => p.parameter.Handle, p => p.name);
        Assert.All(decay, p => Assert.Matches(@"c_(attn|proj|fc)\.weight$", names[p.Handle]));
        Assert.Contains(noDecay, p => names[p.Handle] == "wte.weight");
        Assert.Contains(noDecay, p => names[p.Handle] == "wpe.weight");
        Assert.Contains(noDecay, p => names[p.Handle] == "ln_f.weight");
        Assert.Equal(model.parameters().Count(), decay.Count + noDecay.Count);
    }
}
