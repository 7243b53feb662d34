using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpLM.IO;
using SharpLM.Runtime;
using SharpLM.Training;
using SharpLM.Training.Planning;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

/// <summary>
/// `sharplm plan`: a capacity plan from the papers' closed forms (SharpLM.Training.Planning) — memory per device under
/// DP and ZeRO-1/2/3 with tensor and pipeline parallelism, traffic per step, the pipeline bubble, FLOPs per token and
/// Chinchilla's compute-optimal size — as tables, and as JSON with --json.
/// </summary>
public static class PlanCommand
{
    static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var preset = new Option<string?>("--preset") { Description = $"Plan a bundled model config: {string.Join(", ", PretrainConfig.PresetNames())}." };
        var config = new Option<string?>("--config") { Description = "Plan the model of a SharpLM config file (a pretrain config or a run's config.json)." };
        var parameters = new Option<double?>("--params") { Description = "Plan a model by its parameter count Ψ alone, e.g. 7.5e9." };
        var layers = new Option<int?>("--layers") { Description = "With --params: Transformer blocks L (for activations, tensor-parallel traffic and FLOPs)." };
        var hidden = new Option<int?>("--hidden") { Description = "With --params: hidden size h." };
        var heads = new Option<int?>("--heads") { Description = "With --params: attention heads a." };
        var seqLen = new Option<int?>("--seq-len") { Description = "Tokens per sequence s (default: a config's block_size)." };
        var microBatch = new Option<int>("--micro-batch") { Description = "Sequences per micro-batch b.", DefaultValueFactory = _ => 1 };
        var devices = new Option<int>("--devices") { Description = "Devices N in all; N / (tp × pp) of them are data-parallel replicas.", DefaultValueFactory = _ => 1 };
        var tp = new Option<int>("--tp") { Description = "Tensor-parallel degree t (must divide the heads).", DefaultValueFactory = _ => 1 };
        var pp = new Option<int>("--pp") { Description = "Pipeline stages p (must divide the layers).", DefaultValueFactory = _ => 1 };
        var microBatches = new Option<int>("--micro-batches") { Description = "Micro-batches m per step per replica.", DefaultValueFactory = _ => 1 };
        var precision = new Option<string>("--precision") { Description = $"{string.Join(" or ", TrainingPrecision.All.Select(p => p.Name))}: mixed precision (2+2+12 bytes per parameter) or fp32 (4+4+8).", DefaultValueFactory = _ => "bf16" };
        var schedule = new Option<string>("--schedule") { Description = $"Pipeline schedule for activation memory: {string.Join(" or ", PlanOptions.Schedules)}.", DefaultValueFactory = _ => "1f1b" };
        var recompute = new Option<bool>("--recompute") { Description = "Assume full activation recomputation (each layer keeps only its input)." };
        var flops = new Option<double?>("--flops") { Description = "A training budget in FLOPs, e.g. 5.76e23: adds Chinchilla's compute-optimal size." };
        var memory = new Option<double?>("--device-memory-gb") { Description = "Memory of one device in GB (1e9 bytes): marks which strategies fit." };
        var json = new Option<string?>("--json") { Description = "Also write the plan as JSON to this file." };
        var command = new Command("plan", "Plan training capacity: memory per device under DP / ZeRO-1/2/3 with tensor and pipeline parallelism, traffic, pipeline bubble, FLOPs per token and the Chinchilla-optimal size.")
        {
            preset, config, parameters, layers, hidden, heads, seqLen, microBatch, devices, tp, pp, microBatches, precision, schedule, recompute, flops, memory, json,
        };
        command.SetAction(parse =>
        {
            string? presetName = parse.GetValue(preset), configPath = parse.GetValue(config);
            double? psi = parse.GetValue(parameters);
            if ((presetName is not null ? 1 : 0) + (configPath is not null ? 1 : 0) + (psi is not null ? 1 : 0) != 1)
                throw new InvalidInputException("--preset, --config or --params: give exactly one");
            PlanModel model;
            if (psi is double count) model = PlanModel.FromParameters(count, parse.GetValue(layers), parse.GetValue(hidden), parse.GetValue(heads), parse.GetValue(seqLen));
            else
            {
                if (parse.GetValue(layers) is not null || parse.GetValue(hidden) is not null || parse.GetValue(heads) is not null)
                    throw new InvalidInputException("--layers, --hidden and --heads: go with --params; a config gives its own");
                if (presetName is not null && !PretrainConfig.PresetNames().Contains(presetName))
                    throw new InvalidInputException($"--preset: '{presetName}' is not a bundled config (available: {string.Join(", ", PretrainConfig.PresetNames())})");
                var cfg = configPath is not null ? PretrainConfig.Load(configPath) : PretrainConfig.Preset(presetName!);
                model = PlanModel.FromConfig(cfg.Model, parse.GetValue(seqLen));
            }
            var layout = new ParallelLayout(parse.GetValue(devices), parse.GetValue(tp), parse.GetValue(pp), parse.GetValue(microBatch), parse.GetValue(microBatches));
            var options = new PlanOptions(TrainingPrecision.Parse(parse.GetValue(precision)!), parse.GetValue(schedule)!, parse.GetValue(recompute),
                parse.GetValue(flops), parse.GetValue(memory) * 1e9);
            var plan = CapacityPlanner.Plan(model, layout, options);
            Print(plan);
            if (parse.GetValue(json) is string path)
            {
                AtomicFile.WriteAllText(path, JsonSerializer.Serialize(plan, Json.Options) + "\n");
                Console.WriteLine($"wrote {path}");
            }
            return 0;
        });
        return command;
    }

    static void Print(CapacityPlan plan)
    {
        var l = plan.Layout;
        Console.WriteLine($"{Count(plan.Model.Parameters)} parameters, {plan.Precision}, {l.Devices} devices = tp {l.TensorParallel} × pp {l.PipelineParallel} × dp {l.DataParallel}; " +
            $"micro-batch {l.MicroBatchSize} × {l.MicroBatches} per step");

        // One column per strategy, so the table stays narrow whatever it shows; rows only where the plan has values
        // (activations need the model's shape, "fits" a device memory).
        var table = new Table().AddColumn("per device");
        foreach (var s in plan.Strategies) table.AddColumn(Right(s.Name));
        void Line(string name, Func<StrategyPlan, string> cell) => table.AddRow(plan.Strategies.Select(cell).Prepend(Markup.Escape(name)).ToArray());
        Line("weights", s => Bytes(s.ParameterBytes));
        Line("gradients", s => Bytes(s.GradientBytes));
        Line("optimizer states", s => Bytes(s.OptimizerBytes));
        Line("model states", s => Bytes(s.ModelStateBytes));
        if (plan.Activations is not null)
        {
            Line("activations", s => Bytes(s.ActivationBytes!.Value));
            Line("total", s => Bytes(s.TotalBytes));
        }
        if (plan.DeviceMemoryBytes is double memory) Line($"fits {Bytes(memory)}", s => s.Fits == true ? "yes" : "no");
        Line("gradient traffic/step", s => Bytes(s.GradientTrafficBytes));
        AnsiConsole.Write(table);

        var facts = new Table().AddColumn("step").AddColumn(Right("value"));
        void Row(string name, string value) => facts.AddRow(Markup.Escape(name), Markup.Escape(value));
        Row(plan.Model is { Layers: not null, Hidden: not null, SeqLen: not null } ? "FLOPs per token (6N + 12·L·s·h)" : "FLOPs per token (6N)", plan.Model.FlopsPerToken.ToString("0.00e+00", C));
        if (plan.TokensPerStep is double tokens) Row("tokens per step (b·s·m·dp)", tokens.ToString("N0", C));
        if (plan.FlopsPerStep is double stepFlops) Row("FLOPs per step", stepFlops.ToString("0.00e+00", C));
        if (plan.Activations is { } a)
            Row($"activations ({plan.Schedule}{(plan.Recompute ? ", recomputed" : "")})",
                $"{a.LayersPerStage} layers × {a.InFlightMicroBatches} in flight × {Bytes(plan.Recompute ? a.PerLayerRecomputedBytes : a.PerLayerBytes)}");
        Row("pipeline bubble (p−1)/m", plan.Pipeline.BubbleFraction.ToString("P1", C));
        if (plan.Pipeline.PointToPointBytesPerStep is double sends && l.PipelineParallel > 1) Row("pipeline sends/step", Bytes(sends));
        if (plan.TensorParallel is { AllReducesPerStep: > 0 } t) Row("tensor-parallel all-reduces/step", $"{t.AllReducesPerStep:N0} × {Bytes(t.AllReduceBytes)} = {Bytes(t.BytesPerDevicePerStep)} sent");
        AnsiConsole.Write(facts);

        if (plan.Chinchilla is { } ch)
        {
            Console.WriteLine($"Chinchilla, C = {ch.FlopsBudget.ToString("0.00e+00", C)} FLOPs: optimum {Count(ch.OptimalParameters)} parameters on {Count(ch.OptimalTokens)} tokens (loss {ch.OptimalLoss:F3}); " +
                $"20 tokens/parameter: {Count(ch.RuleParameters)} on {Count(ch.RuleTokens)}; this model: {Count(ch.ModelTokens)} tokens (loss {ch.ModelLoss:F3})");
        }
    }

    static TableColumn Right(string header) => new TableColumn(header).RightAligned();

    /// <summary>Decimal units (GB = 1e9 bytes, as the ZeRO paper), one decimal rounded half away from zero as the paper rounds 1.875 to 1.9.</summary>
    static string Bytes(double bytes) => Scaled(bytes, "B", " ");

    /// <summary>A count in K / M / B / T.</summary>
    static string Count(double n) => Scaled(n, "", "");

    static string Scaled(double value, string unit, string space)
    {
        (double Size, string Prefix)[] scales = unit == "B"
            ? new[] { (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K") }
            : new[] { (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K") };
        foreach (var (size, prefix) in scales)
            if (Math.Abs(value) >= size) return Math.Round(value / size, 1, MidpointRounding.AwayFromZero).ToString("F1", C) + space + prefix + unit;
        return value.ToString("F0", C) + space + unit;
    }
}
