using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.IO;
using SharpLM.Runtime;
using SharpLM.Training;
using TorchSharp;
using static TorchSharp.torch;
using SharpLM.Checkpoints;

namespace SharpLM.Adaptation.Alignment;

/// <summary>What every alignment run shares: the policy, how it trains, and how often it saves state.</summary>
public record AlignmentOptions
{
    /// <summary>The instruction-tuned checkpoint to align (and the reference it stays close to).</summary>
    public required string Policy { get; init; }
    /// <summary>"lora" (default: the reference is the adapter switched off) or "full".</summary>
    public string Method { get; init; } = PolicyMethods.Lora;
    /// <summary>LoRA's rank, scale and targets when <see cref="Method"/> is "lora".</summary>
    public LoraOptions Lora { get; init; } = new() { Rank = 8, Alpha = 16, TargetModules = ["attn.c_attn", "attn.c_proj", "mlp.c_proj"] };
    /// <summary>Optimizer steps.</summary>
    public int MaxIters { get; init; } = 100;
    /// <summary>Peak learning rate (after warm-up; then cosine decay to a tenth).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Steps of linear warm-up.</summary>
    public int WarmupIters { get; init; } = 5;
    /// <summary>Gradients are clipped to this global norm; 0 turns clipping off.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Seeds fresh weights, data order and sampling.</summary>
    public int Seed { get; init; } = 1337;
    /// <summary>Intra-op threads (0 = all cores); a resume is bit-identical on the same thread count.</summary>
    public int Threads { get; init; }
    /// <summary>"cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Steps between saved states (a resume restarts from the last); 0 saves only at the end.</summary>
    public int CheckpointInterval { get; init; } = 10;

    /// <summary>Checks the shared settings.</summary>
    /// <exception cref="InvalidInputException">A setting is out of range; names it.</exception>
    public virtual void Validate()
    {
        static void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new InvalidInputException($"alignment options: {field} {problem}");
        }
        Require(PolicyMethods.All.Contains(Method), "method", $"must be one of {string.Join(", ", PolicyMethods.All)}");
        Require(MaxIters > 0, "max_iters", "must be positive");
        Require(LearningRate > 0, "learning_rate", "must be positive");
        Require(WarmupIters >= 0, "warmup_iters", "must not be negative");
        Require(GradClip >= 0, "grad_clip", "must not be negative");
        Require(Threads >= 0, "threads", "must not be negative");
        Require(CheckpointInterval >= 0, "checkpoint_interval", "must not be negative");
    }

    /// <summary>Warm-up then cosine decay to a tenth of the peak at max_iters, as pre-training and SFT use.</summary>
    internal TrainingConfig Schedule => new()
    {
        LearningRate = LearningRate, MinLr = LearningRate / 10, WarmupIters = Math.Min(WarmupIters, MaxIters), LrDecayIters = MaxIters, MaxIters = MaxIters,
    };
}

/// <summary>One logged alignment step: its figures by name (snake_case, as in metrics.jsonl).</summary>
/// <param name="Step">Steps completed before this one.</param>
/// <param name="MaxIters">Steps in the run, for progress and ETA.</param>
/// <param name="MsPerIter">Wall time of the step.</param>
/// <param name="Values">The step's figures: loss, rewards, KL, … (each trainer documents its own).</param>
public sealed record AlignmentStep(int Step, int MaxIters, double MsPerIter, IReadOnlyDictionary<string, double> Values);

/// <summary>state/state.json: what a resumed alignment run restores (written last, atomically, naming its weight files).</summary>
public sealed record AlignmentStateFile
{
    /// <summary>Version of the layout; only 1 is read.</summary>
    public int FormatVersion { get; init; } = 1;
    /// <summary>Steps completed.</summary>
    public required int Step { get; init; }
    /// <summary>File of the trained tensors (LoRA or all weights, and a value head).</summary>
    public required string TrainableFile { get; init; }
    /// <summary>Its SHA-256.</summary>
    public required string TrainableSha256 { get; init; }
    /// <summary>File of the AdamW moments.</summary>
    public required string OptimizerFile { get; init; }
    /// <summary>Its SHA-256.</summary>
    public required string OptimizerSha256 { get; init; }
    /// <summary>libtorch's generator state (sampling), base64.</summary>
    public required string TorchRngState { get; init; }
    /// <summary>Bytes of metrics.jsonl up to this step.</summary>
    public required long MetricsLength { get; init; }
    /// <summary>Other numbers the trainer carries (PPO's KL coefficient).</summary>
    public Dictionary<string, double> Values { get; init; } = new();
    /// <summary>The options the run was started with; a resume must pass the same.</summary>
    public required JsonNode Options { get; init; }
}

/// <summary>
/// An alignment run's directory. OUT/state/ holds what a resume needs — trained tensors, AdamW moments, RNG, step,
/// named trainer values — written atomically, manifest last, so a SIGKILL at any moment leaves the previous complete
/// state; OUT/metrics.jsonl one line per step (cut back to the state's length on resume, so no step appears twice);
/// at the end OUT/ becomes a plain checkpoint of the aligned policy (LoRA merged) that every other verb loads, with
/// the trainer's summary and PNG curves.
/// </summary>
public sealed class AlignmentRunDirectory : IDisposable
{
    /// <summary>The state folder's name under the run directory.</summary>
    public const string StateDir = "state";
    /// <summary>The state manifest's file name.</summary>
    public const string StateFile = "state.json";
    /// <summary>The options file written at the start.</summary>
    public const string OptionsFile = "align_options.json";

    readonly JsonNode options;

    /// <summary>Opens <paramref name="outDir"/> for a run with <paramref name="options"/>; with <paramref name="resume"/>
    /// reads the saved state (none yet: starts over).</summary>
    /// <exception cref="InvalidInputException">The directory holds a run and resume is off, or holds one started with other options (names the field).</exception>
    public AlignmentRunDirectory(string outDir, object options, bool resume)
    {
        Dir = outDir;
        this.options = JsonSerializer.SerializeToNode(options, options.GetType(), Json.Options)!;
        string statePath = Path.Combine(outDir, StateDir, StateFile);
        bool started = File.Exists(Path.Combine(outDir, OptionsFile)) || Checkpoint.Exists(outDir);
        if (started && !resume) throw InvalidInputException.ForFile(outDir, "already holds an alignment run; pass --resume to continue it or choose another --out");
        if (Checkpoint.Exists(outDir) && File.Exists(Path.Combine(outDir, OptionsFile)) && !File.Exists(statePath))
            throw InvalidInputException.ForFile(outDir, "holds a finished alignment run; choose another --out");
        if (resume && File.Exists(statePath))
        {
            Resumed = Json.ReadFile<AlignmentStateFile>(statePath);
            if (Resumed.FormatVersion != 1) throw InvalidInputException.ForFile(statePath, $"state format {Resumed.FormatVersion} is not supported");
            RequireSameOptions(statePath, Resumed.Options, this.options);
            DeclaredSizes.RequireBareName(statePath, "trainable_file", Resumed.TrainableFile);
            DeclaredSizes.RequireBareName(statePath, "optimizer_file", Resumed.OptimizerFile);
        }
        Directory.CreateDirectory(Path.Combine(outDir, StateDir));
        AtomicFile.WriteAllText(Path.Combine(outDir, OptionsFile), this.options.ToJsonString(Json.Options));
        Log = new MetricsLog(outDir, Resumed?.MetricsLength);
    }

    /// <summary>The run directory.</summary>
    public string Dir { get; }
    /// <summary>The state a resume continues from; null for a fresh start.</summary>
    public AlignmentStateFile? Resumed { get; }
    /// <summary>metrics.jsonl.</summary>
    public MetricsLog Log { get; }
    /// <summary>Steps already done (0 on a fresh start).</summary>
    public int StartStep => Resumed?.Step ?? 0;

    /// <summary>Restores the trained tensors, the optimizer and libtorch's generator from the resumed state.</summary>
    public void Restore(AlignmentPolicy policy, FlatAdamW optimizer)
    {
        if (Resumed is not { } s) return;
        policy.LoadTrainable(Verified(s.TrainableFile, s.TrainableSha256));
        string opt = Verified(s.OptimizerFile, s.OptimizerSha256);
        try
        {
            using var r = new BinaryReader(File.OpenRead(opt));
            optimizer.Load(r);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw InvalidInputException.ForFile(opt, $"cannot load optimizer state: {InvalidInputException.FirstLine(e)}", e);
        }
        Checkpoint.RestoreRng(s.TorchRngState);
    }

    /// <summary>Saves the state after <paramref name="step"/> steps; older state files are removed once the manifest names the new ones.</summary>
    public void Save(int step, AlignmentPolicy policy, FlatAdamW optimizer, Dictionary<string, double>? values = null)
    {
        string state = Path.Combine(Dir, StateDir);
        string trainable = $"trainable-{step:D6}.bin", opt = $"optimizer-{step:D6}.bin";
        policy.SaveTrainable(Path.Combine(state, trainable));
        AtomicFile.Write(Path.Combine(state, opt), s =>
        {
            using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
            optimizer.Save(w);
        });
        var file = new AlignmentStateFile
        {
            Step = step, TrainableFile = trainable, TrainableSha256 = Sha256(Path.Combine(state, trainable)), OptimizerFile = opt,
            OptimizerSha256 = Sha256(Path.Combine(state, opt)), TorchRngState = Checkpoint.SaveRng(), MetricsLength = Log.Length,
            Values = values ?? new(), Options = options.DeepClone(),
        };
        AtomicFile.WriteAllText(Path.Combine(state, StateFile), JsonSerializer.Serialize(file, Json.Options));
        foreach (string stale in Directory.EnumerateFiles(state, "*.bin").Where(f => Path.GetFileName(f) != trainable && Path.GetFileName(f) != opt))
            File.Delete(stale);
    }

    /// <summary>Largest working set of the process at the end of a step so far, MiB.</summary>
    public double PeakRssMb { get; private set; }
    /// <summary>The values of the last step run.</summary>
    public IReadOnlyDictionary<string, double> Last { get; private set; } = new Dictionary<string, double>();

    /// <summary>
    /// What every trainer does after a step: logs it (<see cref="Write"/>), notes the working set, hands it to
    /// <paramref name="onStep"/>, and saves the resume state when the checkpoint interval falls here (never after the last
    /// step: the finished run exports its policy instead). <paramref name="state"/> goes into that state (PPO's kl_coef).
    /// </summary>
    public void EndStep(AlignmentStep step, AlignmentOptions options, AlignmentPolicy policy, FlatAdamW optimizer, Action<AlignmentStep>? onStep,
        Dictionary<string, double>? state = null)
    {
        PeakRssMb = Math.Max(PeakRssMb, Environment.WorkingSet / 1048576.0);
        Write(step);
        Last = step.Values;
        onStep?.Invoke(step);
        int done = step.Step + 1;
        if (options.CheckpointInterval > 0 && done % options.CheckpointInterval == 0 && done < options.MaxIters) Save(done, policy, optimizer, state);
    }

    /// <summary>Appends a step to metrics.jsonl: step, ms_per_iter, then the step's values.</summary>
    public void Write(AlignmentStep step)
    {
        // A value that is not finite (no sample reached the end of turn, say) is written as null: JSON has no NaN.
        var record = new Dictionary<string, double?> { ["step"] = step.Step, ["ms_per_iter"] = Math.Round(step.MsPerIter, 2) };
        foreach (var (k, v) in step.Values) record[k] = double.IsFinite(v) ? v : null;
        Log.Write(record);
    }

    /// <summary>Every step logged so far, read back from metrics.jsonl (for plots).</summary>
    public IReadOnlyList<Dictionary<string, double>> ReadSteps()
    {
        var rows = new List<Dictionary<string, double>>();
        using var s = new FileStream(Path.Combine(Dir, MetricsLog.FileName), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(s);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0) continue;
            var row = new Dictionary<string, double>();
            foreach (var p in JsonDocument.Parse(line).RootElement.EnumerateObject())
                row[p.Name] = p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : double.NaN;
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Removes the resume state once the run has finished and exported its policy.</summary>
    public void Finish() => Directory.Delete(Path.Combine(Dir, StateDir), recursive: true);

    /// <summary>Closes metrics.jsonl.</summary>
    public void Dispose() => Log.Dispose();

    string Verified(string file, string sha)
    {
        string path = Path.Combine(Dir, StateDir, file);
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, $"missing (named by {StateFile})");
        if (!string.Equals(Sha256(path), sha, StringComparison.OrdinalIgnoreCase)) throw InvalidInputException.ForFile(path, $"corrupt: SHA-256 does not match {StateFile}");
        return path;
    }

    static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    static void RequireSameOptions(string path, JsonNode saved, JsonNode now)
    {
        if (JsonNode.DeepEquals(saved, now)) return;
        if (saved is JsonObject a && now is JsonObject b)
            foreach (var key in a.Select(p => p.Key).Union(b.Select(p => p.Key)))
                if (!JsonNode.DeepEquals(a[key], b[key]))
                    throw InvalidInputException.ForFile(path, $"--resume with {key} = {b[key]?.ToJsonString() ?? "null"}, but the run was started with {a[key]?.ToJsonString() ?? "null"}; pass the original options");
        throw InvalidInputException.ForFile(path, "--resume with other options than the run was started with");
    }
}

/// <summary>The optimizer every alignment trainer uses: AdamW (β = 0.9, 0.999 as TRL; no weight decay) over the policy's trained tensors.</summary>
internal static class AlignmentOptimizer
{
    public static (ContiguousParameters Parameters, FlatAdamW Optimizer) Create(AlignmentPolicy policy)
    {
        var trainable = policy.Trainable.Select(p => p.Parameter).ToList();
        if (trainable.Count == 0) throw new InvalidInputException("alignment: the policy has no trainable parameters");
        var parameters = ContiguousParameters.Create(policy.Modules, [trainable]);
        return (parameters, new FlatAdamW(parameters, [0.0], 0.9, 0.999, 1e-8));
    }
}

/// <summary>PNG curves of an alignment run's metrics against step.</summary>
public static class AlignmentPlots
{
    /// <summary>Writes <paramref name="file"/> in <paramref name="dir"/>: one line per key of <paramref name="keys"/> found in the rows.</summary>
    public static void Write(string dir, string file, string title, string yLabel, IReadOnlyList<Dictionary<string, double>> rows, IReadOnlyList<string> keys)
    {
        var plot = new ScottPlot.Plot();
        foreach (string key in keys)
        {
            var points = rows.Where(r => r.TryGetValue(key, out double v) && double.IsFinite(v) && r.ContainsKey("step")).ToList();
            if (points.Count == 0) continue;
            var line = plot.Add.ScatterLine(points.Select(r => r["step"] + 1).ToArray(), points.Select(r => r[key]).ToArray());
            line.LegendText = key;
            line.LineWidth = 2;
            line.MarkerSize = 0;
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel(yLabel);
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        AtomicFile.WriteAllBytes(Path.Combine(dir, file), plot.GetImageBytes(900, 540, ScottPlot.ImageFormat.Png));
    }
}

/// <summary>A deterministic order over a data set that any step can be found in without replaying earlier steps, so a resumed run draws the same batches.</summary>
internal static class StepOrder
{
    /// <summary>Indices (into <paramref name="count"/> items) of the batch for <paramref name="step"/>: epoch e is a seeded shuffle; batches run through it in turn.</summary>
    public static int[] Batch(int count, int batchSize, int step, int seed)
    {
        var result = new int[batchSize];
        for (int i = 0; i < batchSize; i++)
        {
            long position = (long)step * batchSize + i;
            int epoch = (int)(position / count);
            result[i] = Shuffled(count, seed, epoch)[(int)(position % count)];
        }
        return result;
    }

    static readonly Dictionary<(int, int, int), int[]> cache = new();

    static int[] Shuffled(int count, int seed, int epoch)
    {
        lock (cache)
        {
            if (cache.TryGetValue((count, seed, epoch), out var order)) return order;
            var random = new SplitMix64((ulong)(long)seed * 0x9E3779B97F4A7C15UL + (ulong)epoch);
            order = Enumerable.Range(0, count).ToArray();
            for (int i = count - 1; i > 0; i--)
            {
                int j = (int)random.NextLong(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            if (cache.Count > 64) cache.Clear();
            cache[(count, seed, epoch)] = order;
            return order;
        }
    }
}
