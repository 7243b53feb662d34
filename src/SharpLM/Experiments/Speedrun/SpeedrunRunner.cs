using System.Diagnostics;
using System.Globalization;
using SharpLM.Training;

namespace SharpLM.Experiments.Speedrun;

/// <summary>What happened to a stage in one speedrun invocation.</summary>
public enum StageStatus
{
    /// <summary>Ran from an empty folder.</summary>
    Ran,
    /// <summary>Continued a killed run's checkpoint.</summary>
    Resumed,
    /// <summary>Already complete with the same fingerprint: not run.</summary>
    Skipped,
}

/// <summary>A stage's outcome: its status and the wall seconds it took now (0 when skipped).</summary>
public sealed record StageOutcome(string Stage, StageStatus Status, double Seconds);

/// <summary>A speedrun's outcomes, the report card and the model to serve.</summary>
public sealed record SpeedrunResult(IReadOnlyList<StageOutcome> Stages, string ReportMarkdown, string ReportHtml, string ServeCheckpoint, double Seconds);

/// <summary>
/// `sharplm speedrun`: the survey's lifecycle on one corpus, as a list of stages run in order — clean the corpus,
/// train a BPE tokenizer, pre-train, instruction-tune, align with DPO, evaluate, write the report card (nanochat's
/// speedrun.sh and its report.md). Each stage writes into OUT/NAME and ends with a <see cref="StageMarker"/>; a stage is
/// skipped when its marker's fingerprint matches, so a killed speedrun resumes at the stage it was in (pre-training and
/// DPO also continue their own checkpoints).
/// <para>
/// The dependency rule: a stage's fingerprint is its settings plus the run ids of the stages it reads
/// (<see cref="SpeedrunStage.DependsOn"/>), and every run gets a new run id. So a stage reruns when its marker is
/// missing, when its own settings changed, or when a stage it reads (directly or through another) reran; stages
/// before it and beside it are kept. Deleting OUT/sft/stage.json reruns sft, align, eval and report; deleting
/// OUT/eval/stage.json reruns eval and report.
/// </para>
/// </summary>
public sealed class SpeedrunRunner
{
    /// <summary>The stages, in order: the one registry the runner, the CLI and the docs read.</summary>
    public static IReadOnlyList<SpeedrunStage> Stages { get; } =
        [new CleanStage(), new TokenizerStage(), new PretrainStage(), new SftStage(), new AlignStage(), new EvalStage(), new ReportStage()];

    /// <summary>The output directory.</summary>
    public required string OutDir { get; init; }
    /// <summary>What to run.</summary>
    public SpeedrunOptions Options { get; init; } = SpeedrunOptions.Default;
    /// <summary>Progress lines.</summary>
    public Action<string> Log { get; init; } = _ => { };
    /// <summary>The pre-training loop's observer (a console progress bar); null logs lines.</summary>
    public ITrainingObserver? TrainingObserver { get; init; }

    /// <summary>Runs every stage that is not already complete and returns what happened.</summary>
    /// <exception cref="InvalidInputException">Bad options, or a stage's input is unusable (names the file).</exception>
    public async Task<SpeedrunResult> RunAsync(CancellationToken cancellation = default)
    {
        Options.Validate();
        Directory.CreateDirectory(OutDir);
        var c = CultureInfo.InvariantCulture;
        var total = Stopwatch.StartNew();
        var outcomes = new List<StageOutcome>();
        var runIds = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < Stages.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var stage = Stages[i];
            string prefix = $"[{i + 1}/{Stages.Count}] {stage.Name}";
            string dir = Path.Combine(OutDir, stage.Name);
            string fingerprint = StageMarker.FingerprintOf(stage.Name, new { settings = stage.Settings(Options), seed = Options.Seed },
                stage.DependsOn.ToDictionary(d => d, d => runIds[d]));
            if (stage.IsComplete(dir, fingerprint))
            {
                var done = StageMarker.Read(dir)!;
                runIds[stage.Name] = done.RunId;
                outcomes.Add(new StageOutcome(stage.Name, StageStatus.Skipped, 0));
                Log(string.Create(c, $"{prefix}: skipped (already complete; it took {Duration(done.Seconds)} on {done.Finished:yyyy-MM-dd HH:mm} UTC)"));
                continue;
            }
            // A resumable stage continues a checkpoint started with the same fingerprint; anything else starts from an empty folder.
            bool resume = stage.Resumable && Directory.Exists(dir) && StageMarker.ReadStart(dir) == fingerprint;
            if (!resume && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            StageMarker.WriteStart(dir, fingerprint);
            Log($"{prefix}: {(resume ? "resuming" : "running")} — {stage.Description}");
            var started = DateTime.UtcNow;
            var clock = Stopwatch.StartNew();
            var context = new SpeedrunContext { OutDir = OutDir, Options = Options, Log = line => Log($"  {line}"), TrainingObserver = TrainingObserver };
            try
            {
                await stage.RunAsync(context, resume, cancellation);
            }
            catch (InvalidInputException e) when (resume)
            {
                // A checkpoint that cannot be continued (the folder was moved, so the paths it recorded differ) costs
                // the stage's progress, not the speedrun: start the stage over. Bad input fails again, and is reported.
                Log($"{prefix}: cannot continue the checkpoint ({e.Message}); starting the stage over");
                resume = false;
                Directory.Delete(dir, recursive: true);
                Directory.CreateDirectory(dir);
                StageMarker.WriteStart(dir, fingerprint);
                await stage.RunAsync(context, resume, cancellation);
            }
            var marker = new StageMarker
            {
                Stage = stage.Name, Fingerprint = fingerprint, RunId = Guid.NewGuid().ToString("N"), Started = started, Finished = DateTime.UtcNow,
                Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), Resumed = resume,
            };
            marker.Write(dir);
            runIds[stage.Name] = marker.RunId;
            outcomes.Add(new StageOutcome(stage.Name, resume ? StageStatus.Resumed : StageStatus.Ran, marker.Seconds));
            Log(string.Create(c, $"{prefix}: done in {Duration(marker.Seconds)} ({i + 1}/{Stages.Count} stages complete, {Duration(total.Elapsed.TotalSeconds)} so far)"));
        }
        string report = Path.Combine(OutDir, ReportStage.Folder);
        return new SpeedrunResult(outcomes, Path.Combine(report, ReportStage.MarkdownFile), Path.Combine(report, ReportStage.HtmlFile),
            Path.Combine(OutDir, AlignStage.Folder), total.Elapsed.TotalSeconds);
    }

    /// <summary>"4.2 s", "3 m 05 s" or "1 h 02 m".</summary>
    public static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        return seconds < 60 ? string.Create(CultureInfo.InvariantCulture, $"{seconds:F1} s")
            : t.TotalHours < 1 ? $"{(int)t.TotalMinutes} m {t.Seconds:00} s" : $"{(int)t.TotalHours} h {t.Minutes:00} m";
    }
}
