using System.Globalization;
using SharpLM.Adaptation.Alignment;
using SharpLM.Adaptation.Formatting;

namespace SharpLM.Experiments.Speedrun;

/// <summary>
/// Stage 5: `sharplm align dpo --data synthetic:style` — DPO with a LoRA policy on the house-style preference pairs
/// (two right replies, the chosen one says "Answer: X"), the cheapest alignment method here: no reward model, no
/// sampling, the reference is the SFT weights with the adapter off. Resumable from its saved state. The folder is an
/// align run directory: the aligned policy as a checkpoint (what `serve` serves), metrics.jsonl, summary.json, loss.png
/// and rewards.png.
/// </summary>
public sealed class AlignStage : SpeedrunStage
{
    /// <summary>The stage's folder.</summary>
    public const string Folder = "align";

    /// <inheritdoc/>
    public override string Name => Folder;
    /// <inheritdoc/>
    public override string Description => "align the SFT model with DPO on house-style preference pairs (LoRA)";
    /// <inheritdoc/>
    public override IReadOnlyList<string> DependsOn => [SftStage.Folder];
    /// <inheritdoc/>
    public override bool Resumable => true;

    /// <inheritdoc/>
    public override object Settings(SpeedrunOptions options) => options.Align;

    /// <inheritdoc/>
    public override Task RunAsync(SpeedrunContext context, bool resume, CancellationToken cancellation)
    {
        var a = context.Options.Align;
        var (all, _) = SyntheticPreferences.Build(new SyntheticPreferenceOptions { Suite = new SyntheticSuiteOptions(), Kind = "style" });
        // An even stride through the suite's pairs, so a subset still covers every task.
        int stride = a.Pairs > 0 ? (all.Count + a.Pairs - 1) / a.Pairs : 1;
        var pairs = all.Where((_, i) => i % stride == 0).Take(a.Pairs > 0 ? a.Pairs : all.Count).ToList();
        var options = new DpoOptions
        {
            Policy = context.StageDir(SftStage.Folder), MaxIters = a.Steps, LearningRate = a.LearningRate, Beta = a.Beta, BatchSize = a.BatchSize,
            Seed = context.Options.Seed, Threads = context.Options.Threads, CheckpointInterval = 10,
        };
        var progress = context.Every("dpo");
        var summary = DpoTrainer.Run(options, pairs, context.StageDir(Name), resume,
            onStep: s => progress(s.Step, s.MaxIters, string.Join("  ", new[] { "loss", "reward_accuracy" }.Where(s.Values.ContainsKey)
                .Select(k => string.Create(CultureInfo.InvariantCulture, $"{k} {s.Values[k]:F4}")))), cancel: cancellation);
        context.Log(string.Create(CultureInfo.InvariantCulture,
            $"{summary.Iters} DPO steps on {pairs.Count:N0} pairs; final loss {summary.Final.GetValueOrDefault("loss", double.NaN):F4}, reward accuracy {summary.Final.GetValueOrDefault("reward_accuracy", double.NaN):P0}"));
        return Task.CompletedTask;
    }
}
