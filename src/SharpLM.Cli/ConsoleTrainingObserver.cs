using System.Globalization;
using SharpLM.Training;
using Spectre.Console;

namespace SharpLM.Cli;

/// <summary>
/// Shows training progress: a live Spectre.Console bar (step, loss, ms/iter, tokens/s, ETA) on a terminal, plain
/// lines every few seconds when output is redirected. Evaluations and rollbacks always print a line.
/// </summary>
public sealed class ConsoleTrainingObserver : ITrainingObserver
{
    readonly bool live = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
    ProgressTask? task;
    DateTime lastLine = DateTime.MinValue;
    int maxIters;

    public T Run<T>(Func<T> train)
    {
        if (!live) return train();
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                task = ctx.AddTask("starting", maxValue: 1);
                result = train();
            });
        return result;
    }

    public void OnStart(int startStep, int maxIters, long parameters)
    {
        this.maxIters = maxIters;
        Line($"training {parameters:N0} parameters, steps {startStep}..{maxIters}");
        if (task is not null)
        {
            task.MaxValue = Math.Max(1, maxIters);
            task.Value = startStep;
        }
    }

    public void OnStep(StepRecord s, TimeSpan eta)
    {
        string text = string.Create(CultureInfo.InvariantCulture,
            $"step {s.Step + 1}/{maxIters}  loss {s.TrainLoss:F4}  {s.MsPerIter:F1} ms/iter  {s.TokensPerSecond:N0} tok/s  ETA {eta:hh\\:mm\\:ss}");
        if (task is not null)
        {
            task.Description = Markup.Escape(text);
            task.Value = s.Step + 1;
        }
        else if (DateTime.UtcNow - lastLine > TimeSpan.FromSeconds(5))
        {
            Console.WriteLine(text);
            lastLine = DateTime.UtcNow;
        }
    }

    public void OnEval(EvalRecord e) =>
        Line(string.Create(CultureInfo.InvariantCulture, $"eval step {e.Step}: train loss {e.TrainLoss:F4}, val loss {e.ValLoss:F4}"));

    public void OnRollback(RollbackRecord r) => Line($"rollback at step {r.Step}: {r.Reason}; resumed from step {r.RolledBackTo}, batch skipped");

    static void Line(string text)
    {
        if (Console.IsOutputRedirected) Console.WriteLine(text);
        else AnsiConsole.MarkupLine(Markup.Escape(text));
    }

    /// <summary>True when --resume found the run already finished (nothing was written).</summary>
    public bool AlreadyFinished { get; private set; }

    public void OnAlreadyFinished(TrainingSummary summary, string directory)
    {
        AlreadyFinished = true;
        Line($"{directory} already finished at step {summary.Iters} ({Trainer.SummaryFile}); nothing to resume, nothing changed");
    }

    public static void PrintSummary(TrainingSummary s, string outDir)
    {
        var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        void Row(string k, string v) => table.AddRow(k, v);
        var c = CultureInfo.InvariantCulture;
        Row("final train loss", s.FinalTrainLoss.ToString("F4", c));
        Row("final val loss", s.FinalValLoss.ToString("F4", c));
        Row("iterations", s.Iters.ToString(c));
        Row("median ms/iter", s.MedianMsPerIter.ToString("F2", c));
        Row("tokens/s", s.TokensPerSecond.ToString("N0", c));
        Row("parameters", s.Params.ToString("N0", c));
        Row("MFU (vs measured fp32 matmul peak)", $"{s.Mfu * 100:F1}% of {s.MatmulPeakGflops:F0} GFLOP/s");
        Row("threads", s.Threads.ToString(c));
        if (s.Ranks > 1)
        {
            Row("MPI ranks (data parallel)", s.ZeroStage > 0 ? $"{s.Ranks}, ZeRO-{s.ZeroStage}" : s.Ranks.ToString(c));
            if (s.MemoryPerRank is { } m)
                Row("optimizer state per rank", $"{m.OptimizerStateBytes / 1048576.0:F2} of {m.OptimizerStateBytesUnsharded / 1048576.0:F2} MiB");
        }
        Row("peak RSS", $"{s.PeakRssMb:F0} MB");
        Row("wall time", $"{s.WallSeconds:F1} s");
        AnsiConsole.Write(table);
        var written = new[] { "metrics.jsonl", "loss.png", "checkpoint.json", NGramTrainer.ModelFile }.Where(f => File.Exists(Path.Combine(outDir, f)));
        Console.WriteLine($"wrote {Path.Combine(outDir, "summary.json")}, {string.Join(", ", written)}");
    }
}
