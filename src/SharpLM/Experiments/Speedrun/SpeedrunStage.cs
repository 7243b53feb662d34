using System.Diagnostics;
using System.Globalization;
using SharpLM.Training;

namespace SharpLM.Experiments.Speedrun;

/// <summary>
/// One step of the speedrun: a name (also its folder under the output directory), the stages whose outputs it reads,
/// the part of the options it depends on, and the work. A stage writes only into its own folder; the orchestrator
/// (<see cref="SpeedrunRunner"/>) decides whether it runs, and writes its <see cref="StageMarker"/> after it returns.
/// </summary>
public abstract class SpeedrunStage
{
    /// <summary>Short name: the folder, the progress lines, the marker.</summary>
    public abstract string Name { get; }
    /// <summary>What the stage does, in a few words, for the progress line.</summary>
    public abstract string Description { get; }
    /// <summary>The stages whose outputs this one reads. A rerun of any of them reruns this one (their run ids are in its fingerprint).</summary>
    public virtual IReadOnlyList<string> DependsOn => [];
    /// <summary>
    /// Whether a killed run of this stage continues its own checkpoint (pre-training and DPO save resumable state);
    /// otherwise a stage without a marker starts over from an empty folder.
    /// </summary>
    public virtual bool Resumable => false;
    /// <summary>The settings this stage's outputs depend on (serialised into its fingerprint); never thread counts or paths.</summary>
    public abstract object Settings(SpeedrunOptions options);
    /// <summary>Does the work into <c>context.StageDir(Name)</c>, which exists; <paramref name="resume"/> is true when a
    /// <see cref="Resumable"/> stage finds a checkpoint started with the same fingerprint.</summary>
    public abstract Task RunAsync(SpeedrunContext context, bool resume, CancellationToken cancellation);

    /// <summary>Whether <paramref name="stageDir"/> holds this stage's finished outputs for <paramref name="fingerprint"/>.</summary>
    public bool IsComplete(string stageDir, string fingerprint) => StageMarker.IsComplete(stageDir, fingerprint);
}

/// <summary>What every stage gets: the options, the output directory and where to report.</summary>
public sealed class SpeedrunContext
{
    /// <summary>The speedrun's output directory (each stage has a folder in it).</summary>
    public required string OutDir { get; init; }
    /// <summary>The run's options.</summary>
    public required SpeedrunOptions Options { get; init; }
    /// <summary>Progress lines.</summary>
    public Action<string> Log { get; init; } = _ => { };
    /// <summary>The observer of the pre-training loop; null logs a line every few seconds through <see cref="Log"/>.</summary>
    public ITrainingObserver? TrainingObserver { get; init; }

    /// <summary>The folder of the stage called <paramref name="stage"/>.</summary>
    public string StageDir(string stage) => Path.Combine(OutDir, stage);

    /// <summary>A step callback that logs "label step i/n … ETA" at most every few seconds, and always for the last step.</summary>
    public Action<int, int, string> Every(string label, double seconds = 5)
    {
        var clock = Stopwatch.StartNew();
        double last = double.NegativeInfinity;
        return (step, max, figures) =>
        {
            double now = clock.Elapsed.TotalSeconds;
            if (now - last < seconds && step + 1 < max) return;
            last = now;
            var eta = TimeSpan.FromSeconds(Math.Round(now / (step + 1) * (max - step - 1)));
            Log(string.Create(CultureInfo.InvariantCulture, $"{label} step {step + 1}/{max}  {figures}  ETA {eta:hh\\:mm\\:ss}"));
        };
    }
}

/// <summary>Pre-training progress as log lines: the start, a step line every few seconds, every evaluation.</summary>
sealed class LoggingTrainingObserver(SpeedrunContext context) : ITrainingObserver
{
    readonly Stopwatch clock = Stopwatch.StartNew();
    double last = double.NegativeInfinity;
    int maxIters;

    public void OnStart(int startStep, int maxIters, long parameters)
    {
        this.maxIters = maxIters;
        context.Log($"training {parameters:N0} parameters, steps {startStep}..{maxIters}");
    }

    public void OnStep(StepRecord s, TimeSpan eta)
    {
        if (clock.Elapsed.TotalSeconds - last < 5) return;
        last = clock.Elapsed.TotalSeconds;
        context.Log(string.Create(CultureInfo.InvariantCulture, $"step {s.Step + 1}/{maxIters}  loss {s.TrainLoss:F4}  {s.MsPerIter:F1} ms/iter  {s.TokensPerSecond:N0} tok/s  ETA {eta:hh\\:mm\\:ss}"));
    }

    public void OnEval(EvalRecord e) =>
        context.Log(string.Create(CultureInfo.InvariantCulture, $"eval step {e.Step}: train loss {e.TrainLoss:F4}, val loss {e.ValLoss:F4}"));

    public void OnRollback(RollbackRecord r) => context.Log($"rollback at step {r.Step}: {r.Reason}; resumed from step {r.RolledBackTo}");
}
