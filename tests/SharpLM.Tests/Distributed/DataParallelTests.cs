using System.Text.Json;
using SharpLM.Checkpoints;
using SharpLM.Runtime;
using SharpLM.Training;
using static TorchSharp.torch;

namespace SharpLM.Tests.Distributed;

/// <summary>
/// `mpirun -np N sharplm pretrain` (<see cref="DataParallel"/>) against the same run in one process. The reference is a
/// 2-thread run, which splits each batch in two shards (<see cref="BatchSharding"/>): two gradient contributions per
/// value, as two ranks give. The gradient clip is tiny so every step is clipped and the norm's path is exercised.
/// </summary>
public class DataParallelTests
{
    static PretrainConfig Config(int maxIters = 24, int evalInterval = 8)
    {
        var c = TinyRuns.Config(maxIters, evalInterval);
        return c with { Training = c.Training with { BatchSize = 8, GradClip = 0.05, EvalIters = 3 } };
    }

    /// <summary>The config as a file the command line reads, and the prepared data.</summary>
    static (string ConfigFile, string Data) Setup(TempDirectory dir, PretrainConfig config)
    {
        string file = dir.File("config.json");
        File.WriteAllText(file, JsonSerializer.Serialize(config, Json.Options));
        return (file, TinyRuns.PrepareData(dir.Path));
    }

    static string[] Pretrain(string configFile, string data, string outDir, params string[] more) =>
        new[] { "pretrain", "--config", configFile, "--data", data, "--out", outDir, "--threads", "1" }.Concat(more).ToArray();

    /// <summary>The reference: the same config in this process with 2 threads (2 batch shards).</summary>
    static TrainingSummary OneProcess(PretrainConfig config, string data, string outDir) =>
        new Trainer(config with { Training = config.Training with { Threads = 2 } }, data, outDir).Run(resume: false);

    static byte[] Weights(string run) => File.ReadAllBytes(Path.Combine(run, Checkpoint.ReadManifest(run).ModelFile));
    static byte[] OptimizerState(string run) => File.ReadAllBytes(Path.Combine(run, Checkpoint.ReadManifest(run).OptimizerFile!));

    [OpenMpiFact]
    public void Two_ranks_train_to_the_weights_and_losses_of_one_process_with_the_same_global_batch()
    {
        using var dir = new TempDirectory();
        var config = Config();
        var (file, data) = Setup(dir, config);
        var single = OneProcess(config, data, dir.File("single"));
        Assert.Equal(2, single.BatchShards);

        var (exit, output) = OpenMpi.RunCli(2, Pretrain(file, data, dir.File("dp")));
        Assert.True(exit == 0, output);
        Assert.Equal(Weights(dir.File("single")), Weights(dir.File("dp")));
        Assert.Equal(OptimizerState(dir.File("single")), OptimizerState(dir.File("dp")));
        var (singleSteps, singleEvals) = MetricsLog.Read(dir.File("single"));
        var (dpSteps, dpEvals) = MetricsLog.Read(dir.File("dp"));
        Assert.Equal(singleSteps.Select(s => s.TrainLoss), dpSteps.Select(s => s.TrainLoss));
        Assert.Equal(singleEvals.Select(e => (e.TrainLoss, e.ValLoss)), dpEvals.Select(e => (e.TrainLoss, e.ValLoss)));
        var summary = Json.ReadFile<TrainingSummary>(Path.Combine(dir.File("dp"), Trainer.SummaryFile))!;
        Assert.Equal(2, summary.Ranks);
        Assert.Single(output.Split('\n'), l => l.StartsWith("wrote ", StringComparison.Ordinal)); // rank 0 reports, alone
        Assert.True(singleEvals[^1].TrainLoss < singleEvals[0].TrainLoss - 0.1, "the runs must learn, or agreeing would prove little");
    }

    [OpenMpiFact]
    public void Zero_1_and_zero_2_give_the_plain_data_parallel_weights_and_each_rank_holds_half_the_optimizer_state()
    {
        using var dir = new TempDirectory();
        var config = Config();
        var (file, data) = Setup(dir, config);
        OneProcess(config, data, dir.File("single"));
        foreach (int stage in new[] { 1, 2 })
        {
            string run = dir.File($"zero{stage}");
            var (exit, output) = OpenMpi.RunCli(2, Pretrain(file, data, run, "--zero_stage", stage.ToString()));
            Assert.True(exit == 0, output);
            Assert.Equal(Weights(dir.File("single")), Weights(run));
            Assert.Equal(OptimizerState(dir.File("single")), OptimizerState(run)); // gathered from both shards
            var memory = Json.ReadFile<TrainingSummary>(Path.Combine(run, Trainer.SummaryFile))!.MemoryPerRank!;
            // Half of both moments, up to the padding that keeps shards on whole norm blocks.
            Assert.InRange(memory.OptimizerStateBytes, memory.OptimizerStateBytesUnsharded / 2,
                memory.OptimizerStateBytesUnsharded / 2 + 2 * ContiguousParameters.NormBlock * sizeof(float));
            Assert.Equal(stage == 2 ? memory.GradientBytes / 2 : memory.GradientBytes, memory.ReducedGradientBytes);
        }
    }

    [OpenMpiFact]
    public void Four_ranks_match_one_process_to_a_millionth()
    {
        using var dir = new TempDirectory();
        var config = Config();
        var (file, data) = Setup(dir, config);
        OneProcess(config, data, dir.File("single"));
        var (exit, output) = OpenMpi.RunCli(4, Pretrain(file, data, dir.File("dp4"), "--zero_stage", "1"));
        Assert.True(exit == 0, output);
        // Four contributions are summed in another order than two, and each rank's matmuls see 2 rows instead of 4:
        // equal up to rounding, not bit for bit. Measured as ‖a − b‖ / ‖a‖ over all weights.
        double relative = RelativeDifference(dir.File("single"), dir.File("dp4"));
        Assert.True(relative is > 0 and < 1e-6, $"relative difference {relative:E3}");
    }

    /// <summary>‖a − b‖₂ / ‖a‖₂ over every weight of two runs' last checkpoints.</summary>
    internal static double RelativeDifference(string runA, string runB)
    {
        var (a, _) = Checkpoint.LoadModel(runA, CPU);
        var (b, _) = Checkpoint.LoadModel(runB, CPU);
        using (a)
        using (b)
        {
            var other = b.state_dict();
            double difference = 0, norm = 0;
            foreach (var (name, value) in a.state_dict())
            {
                using var d = (value.to(ScalarType.Float64) - other[name].to(ScalarType.Float64)).square().sum();
                using var n = value.to(ScalarType.Float64).square().sum();
                difference += d.item<double>();
                norm += n.item<double>();
            }
            return Math.Sqrt(difference / norm);
        }
    }

    [OpenMpiFact]
    public void A_rank_killed_mid_run_ends_the_job_with_an_error_naming_it_and_resume_finishes_bit_identically()
    {
        using var dir = new TempDirectory();
        var config = Config(maxIters: 400, evalInterval: 20);
        var (file, data) = Setup(dir, config);
        string run = dir.File("dp");
        using var mpirun = OpenMpi.Start(OpenMpi.App(2, Pretrain(file, data, run)));
        var output = OpenMpi.Finish(mpirun, beforeWaiting: () =>
        {
            // After the step-40 checkpoint, while steps are still being taken, SIGKILL rank 1.
            string metrics = Path.Combine(run, MetricsLog.FileName);
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < deadline && !(File.Exists(metrics) && ReadShared(metrics).Contains("\"step\":50,")))
                Thread.Sleep(10);
            int pid = OpenMpi.RankProcess(mpirun, 1) ?? throw new InvalidOperationException("rank 1 not found");
            System.Diagnostics.Process.GetProcessById(pid).Kill();
        });
        Assert.NotEqual(0, output.ExitCode);
        Assert.Contains("rank 1", output.Output);
        Assert.Contains("signal 9", output.Output);
        var killedAt = Checkpoint.ReadManifest(run);
        Assert.InRange(killedAt.Step, 40, 380); // killed mid-run, a checkpoint behind it

        var (exit, resumed) = OpenMpi.RunCli(2, Pretrain(file, data, run, "--resume"));
        Assert.True(exit == 0, resumed);
        Assert.Contains($"steps {killedAt.Step}..400", resumed);
        OneProcess(config, data, dir.File("single"));
        Assert.Equal(Weights(dir.File("single")), Weights(run));
    }

    static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }

    [OpenMpiFact]
    public void Resuming_a_finished_data_parallel_run_says_so_and_changes_nothing()
    {
        using var dir = new TempDirectory();
        var (file, data) = Setup(dir, Config(maxIters: 8, evalInterval: 4));
        string run = dir.File("dp");
        Assert.Equal(0, OpenMpi.RunCli(2, Pretrain(file, data, run)).ExitCode);
        var before = Directory.GetFiles(run).ToDictionary(f => f, f => (File.ReadAllBytes(f), File.GetLastWriteTimeUtc(f)));
        var (exit, output) = OpenMpi.RunCli(2, Pretrain(file, data, run, "--resume"));
        Assert.True(exit == 0, output);
        // mpirun gives each rank a pseudo-terminal, so the console may wrap the line: compare words.
        Assert.Contains("already finished at step 8", System.Text.RegularExpressions.Regex.Replace(output, @"\s+", " "));
        Assert.Equal(before.Keys.Order(), Directory.GetFiles(run).Order());
        foreach (var (f, (bytes, time)) in before)
        {
            Assert.Equal(bytes, File.ReadAllBytes(f));
            Assert.Equal(time, File.GetLastWriteTimeUtc(f));
        }
    }

    [OpenMpiFact]
    public void Ranks_started_with_different_options_stop_naming_the_field_that_differs()
    {
        using var dir = new TempDirectory();
        var (file, data) = Setup(dir, Config());
        string run = dir.File("dp");
        using var mpirun = OpenMpi.Start(OpenMpi.App(1, Pretrain(file, data, run, "--max-iters", "20"))
            .Append(":").Concat(OpenMpi.App(1, Pretrain(file, data, run, "--max-iters", "30"))));
        var (exit, output) = OpenMpi.Finish(mpirun);
        Assert.NotEqual(0, exit);
        Assert.Contains("rank 1 was started with config.training.max_iters = 30, rank 0 with 20", output);
        Assert.False(File.Exists(Path.Combine(run, Checkpoint.ManifestFile)));
    }

    [OpenMpiFact]
    public void A_batch_the_ranks_cannot_split_evenly_is_refused_naming_the_field()
    {
        using var dir = new TempDirectory();
        var (file, data) = Setup(dir, Config());
        var (exit, output) = OpenMpi.RunCli(3, Pretrain(file, data, dir.File("dp")));
        Assert.NotEqual(0, exit);
        Assert.Contains("training.batch_size 8 does not split across 3 ranks", output);
    }

    [Fact]
    public void Zero_without_mpirun_or_beyond_stage_2_is_refused_naming_the_field()
    {
        using var dir = new TempDirectory();
        string data = TinyRuns.PrepareData(dir.Path);
        var config = Config();
        var e = Assert.Throws<InvalidInputException>(() =>
            new Trainer(config with { Training = config.Training with { ZeroStage = 1 } }, data, dir.File("run")).Run(resume: false));
        Assert.Contains("training.zero_stage 1", e.Message);
        Assert.Contains("mpirun", e.Message);
        var bad = Assert.Throws<InvalidInputException>(() => (config.Training with { ZeroStage = 3 }).Validate());
        Assert.Contains("zero_stage", bad.Message);
    }

    [OpenMpiFact]
    public void Sft_on_two_ranks_trains_the_weights_of_one_process_and_rank_0_alone_writes_the_run()
    {
        using var dir = new TempDirectory();
        string baseDir = Adaptation.InstructionTuning.SftRunTests.SaveBase(dir);
        string[] Sft(string outDir) => ["sft", "--base", baseDir, "--data", "synthetic:3", "--format", "tasks", "--method", "full", "--out", outDir,
            "--max-iters", "12", "--batch-size", "5", "--eval-interval", "100", "--eval-limit", "2", "--threads", "1"];
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in Sft(dir.File("one")).Prepend(OpenMpi.Cli)) psi.ArgumentList.Add(a);
        using (var single = System.Diagnostics.Process.Start(psi)!)
        {
            string text = single.StandardOutput.ReadToEnd() + single.StandardError.ReadToEnd();
            single.WaitForExit();
            Assert.True(single.ExitCode == 0, text);
        }
        // 5 rows per batch over 2 ranks: 3 and 2, so the ranks' shares differ and the loss must be weighted by tokens.
        var (exit, output) = OpenMpi.RunCli(2, Sft(dir.File("two")));
        Assert.True(exit == 0, output);
        Assert.Single(output.Split('\n'), l => l.StartsWith("wrote ", StringComparison.Ordinal));
        // Each rank's loss is its rows' sum over the batch's trained tokens, not the batch mean: the same value up to
        // rounding, step by step. AdamW then magnifies last-bit differences in values whose gradient is near zero
        // (sign-like steps of the learning rate), so the weights agree less tightly than the losses.
        static double[] Losses(string run) => File.ReadLines(Path.Combine(run, MetricsLog.FileName))
            .Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("loss", out _)).Select(e => e.GetProperty("loss").GetDouble()).ToArray();
        double[] one = Losses(dir.File("one")), two = Losses(dir.File("two"));
        Assert.Equal(12, two.Length);
        Assert.All(one.Zip(two), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-6 * p.First, $"{p.First} vs {p.Second}"));
        Assert.True(one[^1] < one[0], "the run must learn");
        double relative = RelativeDifference(dir.File("one"), dir.File("two"));
        Assert.True(relative < 1e-4, $"relative difference {relative:E3}");
        Assert.True(RelativeDifference(baseDir, dir.File("two")) > 1e-3, "the run must move the weights, or agreeing would prove little");
    }

    [OpenMpiFact]
    public void A_time_budget_ends_every_rank_at_the_same_step()
    {
        using var dir = new TempDirectory();
        var (file, data) = Setup(dir, Config(maxIters: 1_000_000, evalInterval: 1_000_000));
        // Each rank measures its own clock; the ranks must still agree on when the budget is spent, or one would stop
        // while the other waits in an all-reduce.
        var (exit, output) = OpenMpi.RunCli(2, Pretrain(file, data, dir.File("dp"), "--max_seconds", "3", "--lr_decay_iters", "1000000"));
        Assert.True(exit == 0, output);
        var summary = Json.ReadFile<TrainingSummary>(Path.Combine(dir.File("dp"), Trainer.SummaryFile))!;
        Assert.InRange(summary.Iters, 1, 999_999);
    }
}
