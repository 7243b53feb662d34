using System.Globalization;
using System.Text.Json;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Training;

namespace SharpLM.Experiments.Speedrun;

/// <summary>
/// Stage 4: `sharplm sft --data synthetic --format tasks --method full --styled-replies …` — full instruction tuning
/// of the base on the synthetic suite (spelling, counting, arithmetic, word order: the skills the corpus stated),
/// a share of the replies in the house style "Answer: X" that alignment then prefers. In process: the peak-memory
/// isolation `experiment peft` runs each method in a child for does not matter to one run. The folder is an sft run
/// directory (checkpoint, chat template, metrics.jsonl, sft_summary.json) plus loss.png.
/// </summary>
public sealed class SftStage : SpeedrunStage
{
    /// <summary>The stage's folder.</summary>
    public const string Folder = "sft";

    /// <inheritdoc/>
    public override string Name => Folder;
    /// <inheritdoc/>
    public override string Description => "instruction-tune the base on the synthetic suite (full fine-tuning, ChatML template)";
    /// <inheritdoc/>
    public override IReadOnlyList<string> DependsOn => [PretrainStage.Folder];

    /// <inheritdoc/>
    public override object Settings(SpeedrunOptions options) => options.Sft;

    /// <inheritdoc/>
    public override Task RunAsync(SpeedrunContext context, bool resume, CancellationToken cancellation)
    {
        var s = context.Options.Sft;
        string dir = context.StageDir(Name);
        var options = new SftRunOptions
        {
            Base = context.StageDir(PretrainStage.Folder), Data = "synthetic", Format = "tasks", Method = SftRunOptions.Full,
            Training = new SftOptions
            {
                MaxIters = s.MaxIters, BatchSize = s.BatchSize, LearningRate = s.LearningRate, MinLr = s.LearningRate / 10,
                EvalInterval = s.EvalInterval, Seed = context.Options.Seed, Threads = context.Options.Threads,
            }.Validate(),
            EvalLimit = s.EvalLimit,
            Suite = new SyntheticSuiteOptions { StyledReplies = s.StyledReplies },
        };
        var progress = context.Every("sft");
        var summary = SftRun.Run(options, dir,
            onStep: step => progress(step.Step, s.MaxIters, string.Create(CultureInfo.InvariantCulture, $"loss {step.Loss:F4}  {step.MsPerIter:F0} ms/iter")),
            onEval: e => context.Log(string.Create(CultureInfo.InvariantCulture, $"eval step {e.Step}: held-out exact match {e.ExactMatch:P1}")));
        PlotLoss(dir);
        context.Log(string.Create(CultureInfo.InvariantCulture,
            $"held-out exact match {summary.BaseExactMatch:P1} before, {summary.Training.FinalExactMatch ?? double.NaN:P1} after {summary.Training.Iters} steps ({summary.TrainExamples:N0} conversations)"));
        return Task.CompletedTask;
    }

    /// <summary>loss.png from the run's metrics.jsonl: the training loss per step (SftRun writes no plot of its own).</summary>
    static void PlotLoss(string dir)
    {
        var steps = new List<StepRecord>();
        foreach (string line in File.ReadLines(Path.Combine(dir, "metrics.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            if (!doc.RootElement.TryGetProperty("loss", out var loss)) continue; // evaluation lines carry exact_match
            steps.Add(new StepRecord(doc.RootElement.GetProperty("step").GetInt32(), loss.GetDouble(), 0, 0, 0, 0));
        }
        LossCurvePlot.Write(dir, steps, []);
    }
}
