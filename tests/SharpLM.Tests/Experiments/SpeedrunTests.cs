using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SharpLM.Experiments.Speedrun;
using SharpLM.Runtime;
using SharpLM.Tests.Cli;
using SharpLM.Training;

namespace SharpLM.Tests.Experiments;

/// <summary>One tiny speedrun, run once and copied by each test that changes it.</summary>
public sealed class TinySpeedrun : IDisposable
{
    readonly TempDirectory dir = new();
    readonly Lazy<Task<(string Dir, SpeedrunResult Result)>> run;

    public TinySpeedrun() => run = new(async () =>
    {
        string outDir = dir.File("run");
        return (outDir, await new SpeedrunRunner { OutDir = outDir, Options = Options }.RunAsync());
    });

    /// <summary>Every stage at toy size: the whole lifecycle in well under a minute on one thread.</summary>
    public static SpeedrunOptions Options { get; } = new()
    {
        Clean = new SpeedrunClean { SkillStatements = 300, Decontaminate = [] },
        VocabSize = 300,
        Pretrain = new SpeedrunPretrain
        {
            Overrides = new Dictionary<string, string>
            {
                ["max_iters"] = "30", ["lr_decay_iters"] = "30", ["warmup_iters"] = "5", ["eval_interval"] = "15", ["eval_iters"] = "2",
                ["n_layer"] = "1", ["n_embd"] = "32", ["n_head"] = "2", ["n_kv_head"] = "1", ["block_size"] = "64", ["batch_size"] = "4",
            },
        },
        Sft = new SpeedrunSft { MaxIters = 8, BatchSize = 4, EvalLimit = 4, EvalInterval = 8 },
        Align = new SpeedrunAlign { Steps = 2, BatchSize = 4, Pairs = 16 },
        Eval = new SpeedrunEval { Tasks = ["piqa"], Limit = 4, ChatPrompts = 2, KlSamples = 1, SampleTokens = 10 },
        Threads = 1,
    };

    /// <summary>The finished run's directory and outcomes (run on first use).</summary>
    public Task<(string Dir, SpeedrunResult Result)> Completed => run.Value;

    /// <summary>A copy of the finished run in a fresh folder.</summary>
    internal async Task<string> CopyAsync(TempDirectory into)
    {
        var (source, _) = await Completed;
        string target = into.File("run");
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string copy = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
        return target;
    }

    public void Dispose() => dir.Dispose();
}

public class SpeedrunTests(TinySpeedrun tiny) : IClassFixture<TinySpeedrun>
{
    static Task<SpeedrunResult> Rerun(string dir, SpeedrunOptions? options = null) =>
        new SpeedrunRunner { OutDir = dir, Options = options ?? TinySpeedrun.Options }.RunAsync();

    static Dictionary<string, StageStatus> Statuses(SpeedrunResult r) => r.Stages.ToDictionary(s => s.Stage, s => s.Status);

    [DataFact("tinyshakespeare", "piqa")]
    public async Task A_speedrun_runs_every_stage_and_its_report_card_quotes_the_stage_outputs()
    {
        var (dir, result) = await tiny.Completed;
        Assert.Equal(SpeedrunRunner.Stages.Select(s => s.Name), result.Stages.Select(s => s.Stage));
        Assert.All(result.Stages, s => Assert.Equal(StageStatus.Ran, s.Status));
        foreach (var stage in SpeedrunRunner.Stages) Assert.NotNull(StageMarker.Read(Path.Combine(dir, stage.Name)));

        string md = File.ReadAllText(result.ReportMarkdown);
        var c = CultureInfo.InvariantCulture;
        var pretrain = Json.ReadFile<TrainingSummary>(Path.Combine(dir, PretrainStage.Folder, "summary.json"));
        Assert.Contains($"val loss {pretrain.FinalValLoss.ToString("F4", c)} after {pretrain.Iters} steps", md);
        var eval = Json.ReadFile<SpeedrunEvaluation>(Path.Combine(dir, EvalStage.Folder, EvalStage.ResultsFile));
        double acc = eval.Benchmarks.Single(b => b.Model == "aligned" && b.Task == "piqa" && b.Metric == "acc").Value;
        Assert.Contains($"aligned {acc.ToString("F4", c)}", md);
        Assert.Contains(eval.BaseSample.TrimEnd('\n'), md);
        Assert.Contains(ReportStage.ServeCommand(dir), md);
        foreach (Match image in Regex.Matches(md, @"!\[[^\]]*\]\(([^)]+)\)"))
            Assert.True(File.Exists(Path.Combine(dir, ReportStage.Folder, image.Groups[1].Value)), $"report.md shows {image.Groups[1].Value}, which is not beside it");

        // The HTML is self-contained: every image is an inline PNG that decodes, nothing is fetched.
        string html = File.ReadAllText(result.ReportHtml);
        var images = Regex.Matches(html, "<img [^>]*src=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(Regex.Matches(md, @"!\[").Count, images.Count);
        foreach (string src in images)
        {
            Assert.StartsWith("data:image/png;base64,", src);
            byte[] png = Convert.FromBase64String(src["data:image/png;base64,".Length..]);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        }
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
        Assert.Contains(pretrain.FinalValLoss.ToString("F4", c), html);
    }

    [DataFact("tinyshakespeare", "piqa")]
    public async Task The_report_card_reads_its_figures_from_the_stage_files()
    {
        using var copy = new TempDirectory();
        string dir = await tiny.CopyAsync(copy);
        // Change a figure in a stage's output and rebuild only the card: the card must show the file's value.
        string summary = Path.Combine(dir, PretrainStage.Folder, "summary.json");
        var edited = Json.ReadFile<TrainingSummary>(summary) with { FinalValLoss = 9.87654 };
        File.WriteAllText(summary, JsonSerializer.Serialize(edited, Json.Options));
        File.Delete(Path.Combine(dir, ReportStage.Folder, StageMarker.FileName));
        var result = await Rerun(dir);
        Assert.Equal(StageStatus.Ran, Statuses(result)["report"]);
        Assert.Contains("val loss 9.8765 after", File.ReadAllText(result.ReportMarkdown));
    }

    [DataFact("tinyshakespeare", "piqa")]
    public async Task Rerunning_a_finished_speedrun_skips_every_stage()
    {
        using var copy = new TempDirectory();
        string dir = await tiny.CopyAsync(copy);
        var before = File.GetLastWriteTimeUtc(Path.Combine(dir, ReportStage.Folder, ReportStage.HtmlFile));
        var result = await Rerun(dir);
        Assert.All(result.Stages, s => Assert.Equal(StageStatus.Skipped, s.Status));
        Assert.Equal(before, File.GetLastWriteTimeUtc(Path.Combine(dir, ReportStage.Folder, ReportStage.HtmlFile)));
    }

    [DataFact("tinyshakespeare", "piqa")]
    public async Task Deleting_a_stage_marker_reruns_that_stage_and_the_stages_that_read_it_only()
    {
        using var copy = new TempDirectory();
        string dir = await tiny.CopyAsync(copy);
        File.Delete(Path.Combine(dir, SftStage.Folder, StageMarker.FileName));
        var statuses = Statuses(await Rerun(dir));
        Assert.Equal(StageStatus.Skipped, statuses["clean"]);
        Assert.Equal(StageStatus.Skipped, statuses["tokenizer"]);
        Assert.Equal(StageStatus.Skipped, statuses["pretrain"]);
        foreach (string later in new[] { "sft", "align", "eval", "report" }) Assert.Equal(StageStatus.Ran, statuses[later]);

        // Evaluation is read only by the report: deleting its marker reruns those two.
        File.Delete(Path.Combine(dir, EvalStage.Folder, StageMarker.FileName));
        statuses = Statuses(await Rerun(dir));
        Assert.Equal(new[] { "eval", "report" }, statuses.Where(kv => kv.Value != StageStatus.Skipped).Select(kv => kv.Key));
    }

    [DataFact("tinyshakespeare", "piqa")]
    public async Task A_stage_killed_before_its_marker_starts_over_from_an_empty_folder()
    {
        using var copy = new TempDirectory();
        string dir = await tiny.CopyAsync(copy);
        // What a SIGKILL in the middle of SFT leaves: some files, no summary, no marker.
        string sft = Path.Combine(dir, SftStage.Folder);
        File.Delete(Path.Combine(sft, StageMarker.FileName));
        File.Delete(Path.Combine(sft, "sft_summary.json"));
        File.WriteAllText(Path.Combine(sft, "half-written.tmp"), "x");
        var statuses = Statuses(await Rerun(dir));
        Assert.Equal(StageStatus.Ran, statuses["sft"]);
        Assert.True(File.Exists(Path.Combine(sft, "sft_summary.json")));
        Assert.False(File.Exists(Path.Combine(sft, "half-written.tmp")), "a non-resumable stage reruns in an empty folder");
        Assert.NotNull(StageMarker.Read(sft));
    }

    [DataFact("tinyshakespeare", "piqa")]
    public async Task A_killed_pretrain_continues_its_checkpoint_and_changed_settings_rerun_their_stage()
    {
        using var copy = new TempDirectory();
        string dir = await tiny.CopyAsync(copy);
        File.Delete(Path.Combine(dir, PretrainStage.Folder, StageMarker.FileName));
        var statuses = Statuses(await Rerun(dir));
        Assert.Equal(StageStatus.Resumed, statuses["pretrain"]);
        Assert.True(StageMarker.Read(Path.Combine(dir, PretrainStage.Folder))!.Resumed);
        Assert.Equal(StageStatus.Skipped, statuses["tokenizer"]);

        // More SFT steps: SFT and what reads it rerun, the stages before it stay.
        var changed = TinySpeedrun.Options with { Sft = TinySpeedrun.Options.Sft with { MaxIters = 9 } };
        statuses = Statuses(await Rerun(dir, changed));
        Assert.Equal(new[] { "sft", "align", "eval", "report" }, statuses.Where(kv => kv.Value != StageStatus.Skipped).Select(kv => kv.Key));
    }

    [DataFact("tinyshakespeare", "piqa")]
    public async Task A_resumable_stage_whose_checkpoint_cannot_be_continued_starts_over()
    {
        using var copy = new TempDirectory();
        string dir = await tiny.CopyAsync(copy);
        // A DPO run that finished but lost its marker: `align dpo --resume` refuses a finished run (and this copy's
        // recorded policy path is the original folder's), so the stage must start over rather than fail.
        File.Delete(Path.Combine(dir, AlignStage.Folder, StageMarker.FileName));
        var statuses = Statuses(await Rerun(dir));
        Assert.Equal(StageStatus.Ran, statuses["align"]);
        Assert.False(StageMarker.Read(Path.Combine(dir, AlignStage.Folder))!.Resumed);
        Assert.Equal(StageStatus.Skipped, statuses["sft"]);
    }

    [Fact]
    public void A_config_file_with_an_unknown_field_or_a_bad_count_is_refused_naming_the_file()
    {
        using var dir = new TempDirectory();
        string unknown = dir.File("unknown.json");
        File.WriteAllText(unknown, """{ "sft": { "max_iter": 5 } }""");
        var e = Assert.Throws<InvalidInputException>(() => SpeedrunOptions.Load(unknown));
        Assert.Contains("unknown.json", e.Message);
        string bad = dir.File("bad.json");
        File.WriteAllText(bad, """{ "align": { "steps": 0 } }""");
        e = Assert.Throws<InvalidInputException>(() => SpeedrunOptions.Load(bad));
        Assert.Contains("bad.json", e.Message);
        Assert.Contains("align.steps", e.Message);
        // Fields left out keep the default preset's values.
        string partial = dir.File("partial.json");
        File.WriteAllText(partial, """{ "sft": { "max_iters": 5 } }""");
        var loaded = SpeedrunOptions.Load(partial);
        Assert.Equal(5, loaded.Sft.MaxIters);
        Assert.Equal(SpeedrunOptions.Default.Sft.LearningRate, loaded.Sft.LearningRate);
        Assert.Equal(SpeedrunOptions.Default.Pretrain.Overrides, loaded.Pretrain.Overrides);
    }

    [DataFact("tinyshakespeare", "piqa")]
    public void Sigkill_during_pretraining_then_the_same_command_finishes_without_redoing_finished_stages()
    {
        using var dir = new TempDirectory();
        string config = dir.File("tiny.json");
        // Long enough a pre-training that the kill lands inside it: 300 steps, a checkpoint every 20.
        var options = TinySpeedrun.Options with
        {
            Pretrain = new SpeedrunPretrain { Overrides = new Dictionary<string, string>(TinySpeedrun.Options.Pretrain.Overrides) { ["max_iters"] = "300", ["lr_decay_iters"] = "300", ["eval_interval"] = "20" } },
        };
        File.WriteAllText(config, JsonSerializer.Serialize(options, Json.Options));
        string outDir = dir.File("run");
        string[] args = ["speedrun", "--config", config, "--out", outDir];

        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SharpLM.Cli.dll"));
        foreach (string a in args) psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!)
        {
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            string checkpoint = Path.Combine(outDir, PretrainStage.Folder, "checkpoint.json");
            var wait = Stopwatch.StartNew();
            while (!File.Exists(checkpoint) && !p.HasExited && wait.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(10);
            Assert.False(p.HasExited, "the speedrun ended before it could be killed");
            p.Kill(); // SIGKILL on Unix
            p.WaitForExit();
        }
        Assert.Null(StageMarker.Read(Path.Combine(outDir, PretrainStage.Folder)));
        var cleaned = File.GetLastWriteTimeUtc(Path.Combine(outDir, CleanStage.Folder, CleanStage.OutputFile));

        var rerun = CliProcess.Run(args);
        Assert.True(rerun.ExitCode == 0, rerun.Stderr);
        Assert.Contains("[1/7] clean: skipped", rerun.Stdout);
        Assert.Contains("[2/7] tokenizer: skipped", rerun.Stdout);
        Assert.Contains("[3/7] pretrain: resuming", rerun.Stdout);
        Assert.Contains("[7/7] report: done", rerun.Stdout);
        Assert.Contains($"serve the aligned model: {ReportStage.ServeCommand(outDir)}", rerun.Stdout);
        Assert.Equal(cleaned, File.GetLastWriteTimeUtc(Path.Combine(outDir, CleanStage.Folder, CleanStage.OutputFile)));
        Assert.True(StageMarker.Read(Path.Combine(outDir, PretrainStage.Folder))!.Resumed);
        Assert.True(File.Exists(Path.Combine(outDir, ReportStage.Folder, ReportStage.HtmlFile)));
    }
}
