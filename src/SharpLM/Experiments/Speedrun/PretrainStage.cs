using System.Globalization;
using SharpLM.Data;
using SharpLM.Tokenization;
using SharpLM.Training;

namespace SharpLM.Experiments.Speedrun;

/// <summary>
/// Stage 3: `sharplm pretrain` — the cleaned corpus prepared with the stage-2 tokenizer (90/10 split), then a preset
/// (chat-base: llama-style, RMSNorm, SwiGLU, RoPE, grouped-query attention, 128-token context) with the speedrun's
/// overrides. Resumable: a killed run continues from its last checkpoint, bit-identically, as `pretrain --resume`.
/// The folder is a pretrain run directory (checkpoint, metrics.jsonl, summary.json, loss.png, data/).
/// </summary>
public sealed class PretrainStage : SpeedrunStage
{
    /// <summary>The stage's folder.</summary>
    public const string Folder = "pretrain";

    /// <inheritdoc/>
    public override string Name => Folder;
    /// <inheritdoc/>
    public override string Description => "pre-train the base model on the cleaned corpus with the new tokenizer";
    /// <inheritdoc/>
    public override IReadOnlyList<string> DependsOn => [CleanStage.Folder, TokenizerStage.Folder];
    /// <inheritdoc/>
    public override bool Resumable => true;

    /// <inheritdoc/>
    public override object Settings(SpeedrunOptions options) => options.Pretrain;

    /// <summary>
    /// The preset with the speedrun's overrides, its seed and thread count. The data is prepared with the stage-2
    /// tokenizer (the trainer reads it from the prepared folder); the config records it as <paramref name="tokenizer"/>,
    /// its path inside the speedrun folder, so that a speedrun moved elsewhere still resumes (a resume compares configs).
    /// </summary>
    public static PretrainConfig Config(SpeedrunOptions options, string tokenizer)
    {
        var overrides = options.Pretrain.Overrides.ToList();
        overrides.Add(new("seed", options.Seed.ToString(CultureInfo.InvariantCulture)));
        overrides.Add(new("threads", options.Threads.ToString(CultureInfo.InvariantCulture)));
        return PretrainConfig.Preset(options.Pretrain.Preset).WithOverrides(overrides) with { Tokenizer = tokenizer };
    }

    /// <inheritdoc/>
    public override Task RunAsync(SpeedrunContext context, bool resume, CancellationToken cancellation)
    {
        string dir = context.StageDir(Name);
        string tokenizer = TokenizerFile.PathIn(context.StageDir(TokenizerStage.Folder));
        var config = Config(context.Options, TokenizerFile.PathIn(TokenizerStage.Folder).Replace('\\', '/'));
        string data = Path.Combine(dir, "data");
        // Not PrepareOnce: what this folder holds is tied to the clean and tokenizer stages by the fingerprints, and
        // a speedrun folder that was moved must still resume (data.json records the absolute path it came from).
        if (!DataPreparer.IsPrepared(data))
        {
            var prepared = DataPreparer.Prepare(Path.Combine(context.StageDir(CleanStage.Folder), CleanStage.OutputFile), tokenizer, data);
            context.Log($"prepared {prepared.TrainTokens:N0} train and {prepared.ValTokens:N0} val tokens (vocabulary {prepared.VocabSize}) → {data}");
        }
        var observer = context.TrainingObserver ?? new LoggingTrainingObserver(context);
        // resume = true also starts a run that has no checkpoint yet; the runner emptied the folder unless this is a resume.
        var summary = Pretraining.Run(config, data, dir, observer, resume: true, cancellation);
        context.Log(string.Create(CultureInfo.InvariantCulture,
            $"val loss {summary.FinalValLoss:F4} after {summary.Iters} steps; {summary.Params:N0} parameters, {summary.TokensPerSecond:N0} tok/s"));
        return Task.CompletedTask;
    }
}
