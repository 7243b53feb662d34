using System.Diagnostics;
using SharpLM.Data;
using SharpLM.Modeling;
using SharpLM.Training;

namespace SharpLM.Experiments;

/// <summary>
/// The survey's architecture comparison at the baby Shakespeare size and an equal number of steps: the three
/// attention patterns (causal decoder, prefix decoder, encoder-decoder), each trained on its own objective
/// (next token, prefix LM, span corruption) and compared on one they all can score — the second half of each
/// validation window given its first half — and a grid of components on the causal decoder (norm × activation ×
/// position encoding), compared on validation loss.
/// </summary>
public sealed class ArchitecturesExperiment
{
    /// <summary>The input text (e.g. tinyshakespeare's input.txt), prepared once at character level into OUT/data.</summary>
    public required string Data { get; init; }
    /// <summary>The output directory: data, one run directory per variant, the report and the plots.</summary>
    public required string OutDir { get; init; }
    /// <summary>Training steps of every variant; at least 10. The schedule decays over them.</summary>
    public int Steps { get; init; } = 300;
    /// <summary>Seeds every variant's training; all variants use the same seed.</summary>
    public int Seed { get; init; } = 1337;
    /// <summary>Receives a progress line before and after each variant; null for silence.</summary>
    public Action<string>? Log { get; init; }
    /// <summary>The run every variant starts from; the shakespeare-char preset unless given.</summary>
    public PretrainConfig? Baseline { get; init; }

    /// <summary>File names of the two plots in the output directory: validation loss against step for the
    /// architectures, and for the component grid.</summary>
    public const string ArchitecturesPlot = "architectures.png", ComponentsPlot = "components.png";

    /// <summary>The attention patterns compared, as <see cref="ModelConfig.Architecture"/> values.</summary>
    public static readonly string[] ArchitectureNames = { "causal_decoder", "prefix_decoder", "encoder_decoder" };
    /// <summary>The normalisations of the component grid.</summary>
    public static readonly string[] GridNorms = { "layernorm", "rmsnorm" };
    /// <summary>The feed-forward activations of the component grid.</summary>
    public static readonly string[] GridActivations = { "gelu", "swiglu" };
    /// <summary>The position encodings of the component grid.</summary>
    public static readonly string[] GridPositions = { "learned", "rope", "alibi" };

    /// <summary>
    /// Trains the three architectures and the twelve components of the grid (replacing any earlier runs of the same
    /// names), then writes report.json, report.md and both plots.
    /// </summary>
    /// <exception cref="InvalidInputException">Fewer than 10 steps, or data that cannot be prepared.</exception>
    public (IReadOnlyList<ComparisonResult> Architectures, IReadOnlyList<ComparisonResult> Components) Run()
    {
        if (Steps < 10) throw new InvalidInputException($"--steps {Steps}: must be at least 10");
        var wall = Stopwatch.StartNew();
        string dataDir = Path.Combine(OutDir, "data");
        DataPreparer.PrepareOnce(Data, "char", dataDir);
        var comparison = new ModelComparison(dataDir, OutDir);
        var baseline = Baseline ?? PretrainConfig.Preset("shakespeare-char");
        var training = baseline.Training with
        {
            MaxIters = Steps, LrDecayIters = Steps, WarmupIters = Math.Min(baseline.Training.WarmupIters, Steps / 10),
            EvalInterval = Math.Max(1, Steps / 6), CheckpointInterval = Steps, Seed = Seed,
        };

        ComparisonResult Train(string name, ModelConfig model)
        {
            string dir = comparison.RunDirectory(name);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Log?.Invoke($"{name}: {Steps} steps");
            var r = comparison.Run(new ComparedModel(name, baseline with { Model = model, Training = training }), bitsPerCharacter: false, continuation: true);
            Log?.Invoke($"{name}: val loss {r.ValLoss:F4}, continuation loss {r.ContinuationLoss:F4}, {r.MsPerIter:F1} ms/iter");
            return r;
        }

        // The encoder-decoder splits the baseline's depth between its two stacks, so all three have about the same
        // number of parameters (plus the decoder's cross-attention) rather than the encoder-decoder twice as many.
        ModelConfig Architecture(string a) => a == "encoder_decoder"
            ? baseline.Model with { Architecture = a, NLayer = Math.Max(1, baseline.Model.NLayer / 2), NEncoderLayer = Math.Max(1, baseline.Model.NLayer / 2) }
            : baseline.Model with { Architecture = a };
        var architectures = ArchitectureNames.Select(a => Train(a, Architecture(a))).ToList();
        var components = (from norm in GridNorms
                          from activation in GridActivations
                          from position in GridPositions
                          select Train($"{norm}-{activation}-{position}", baseline.Model with { Norm = norm, Activation = activation, PositionEncoding = position })).ToList();

        string table = "## Architectures (each on its own objective; continuation = second half of a window given the first)\n\n"
            + ComparisonReport.Table(new[] { "architecture", "params", "ms/iter", "val loss (own objective)", "continuation loss" },
                architectures.Select(r => (IReadOnlyList<string>)new[]
                {
                    r.Name, r.Params.ToString("N0"), ComparisonReport.F(r.MsPerIter, "F1"), ComparisonReport.F(r.ValLoss, "F4"), ComparisonReport.F(r.ContinuationLoss, "F4"),
                }))
            + "\n## Components (causal decoder)\n\n"
            + ComparisonReport.Table(new[] { "norm", "activation", "position", "params", "ms/iter", "val loss", "continuation loss" },
                components.Select(r =>
                {
                    string[] parts = r.Name.Split('-');
                    return (IReadOnlyList<string>)new[]
                    {
                        parts[0], parts[1], parts[2], r.Params.ToString("N0"), ComparisonReport.F(r.MsPerIter, "F1"),
                        ComparisonReport.F(r.ValLoss, "F4"), ComparisonReport.F(r.ContinuationLoss, "F4"),
                    };
                }))
            + $"\nAll at {Steps} steps of batch {training.BatchSize} × {baseline.Model.BlockSize} tokens, seed {Seed}; wall {wall.Elapsed.TotalSeconds:F0} s.\n";
        var header = new
        {
            Experiment = "architectures", Data = Path.GetFullPath(Data), Steps, WallSeconds = Math.Round(wall.Elapsed.TotalSeconds, 1),
            Results = architectures.Concat(components).ToList(),
        };
        ComparisonReport.Write(OutDir, "Architectures and components at equal steps", header, table);
        ComparisonReport.Plot(Path.Combine(OutDir, ArchitecturesPlot), "Architectures (own objectives)", architectures, againstSeconds: false);
        ComparisonReport.Plot(Path.Combine(OutDir, ComponentsPlot), "Components (causal decoder)", components, againstSeconds: false);
        return (architectures, components);
    }
}
