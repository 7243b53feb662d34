using System.Security.Cryptography;
using System.Text.Json;
using SharpLM.IO;
using SharpLM.Modeling;
using SharpLM.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Checkpoints;

/// <summary>
/// checkpoint.json: which weight files make up the newest complete checkpoint, their SHA-256, and the state a
/// resumed run needs to continue bit-identically (step, sampler and libtorch RNG states, metrics-log length).
/// </summary>
public sealed record CheckpointManifest
{
    /// <summary>Version of the checkpoint layout; only 1 is read.</summary>
    public int FormatVersion { get; init; } = 1;
    /// <summary>Optimizer steps completed when the checkpoint was written.</summary>
    public required int Step { get; init; }
    /// <summary>The model's config: the architecture the weights load into.</summary>
    public required ModelConfig Model { get; init; }
    /// <summary>The weight file's name in the run directory, e.g. model-000250.bin.</summary>
    public required string ModelFile { get; init; }
    /// <summary>SHA-256 (lowercase hex) of the weight file, checked on load.</summary>
    public required string ModelSha256 { get; init; }
    /// <summary>The optimizer-state file's name; null when none was saved (a fine-tuned model, say).</summary>
    public string? OptimizerFile { get; init; }
    /// <summary>SHA-256 (lowercase hex) of the optimizer-state file; null with it.</summary>
    public string? OptimizerSha256 { get; init; }
    /// <summary>State of the training batch sampler's generator, so a resumed run draws the same batches.</summary>
    public ulong TrainSamplerState { get; init; }
    /// <summary>State of the validation batch sampler's generator.</summary>
    public ulong ValSamplerState { get; init; }
    /// <summary>libtorch's CPU generator state (dropout), base64.</summary>
    public string? TorchRngState { get; init; }
    /// <summary>Under data parallelism, each rank's generator state in rank order (rank 0's is also <see cref="TorchRngState"/>);
    /// null for a single process.</summary>
    public IReadOnlyList<string>? RankTorchRngStates { get; init; }
    /// <summary>Bytes of metrics.jsonl that belong to steps up to this checkpoint; a resume truncates to it.</summary>
    public long MetricsLength { get; init; }
    /// <summary>Rollbacks so far in the run; a resumed run keeps counting them against max_rollbacks.</summary>
    public int Rollbacks { get; init; }
    /// <summary>Running mean of the training loss, which the spike guard compares against.</summary>
    public double? LossEma { get; init; }
    /// <summary>The last validation loss measured (nats per token); null when none was.</summary>
    public double? ValLoss { get; init; }
    /// <summary>When the checkpoint was written, in UTC.</summary>
    public DateTime SavedAtUtc { get; init; }
    /// <summary>
    /// The scheme the weights are quantised with (<see cref="QuantizedCheckpoint"/>: a safetensors file of packed
    /// values and scales, for inference only); null for float weights.
    /// </summary>
    public QuantizationSpec? Quantization { get; init; }
}

/// <summary>
/// Crash-safe checkpoints in a run directory. Weights go to step-numbered files (model-000250.bin,
/// optimizer-000250.bin), each written atomically; checkpoint.json is replaced atomically last and names them.
/// A kill at any moment leaves checkpoint.json pointing at complete files — the previous ones until the new
/// manifest lands. Files no manifest names are deleted after the switch.
/// </summary>
public static class Checkpoint
{
    /// <summary>The manifest's file name in the run directory.</summary>
    public const string ManifestFile = "checkpoint.json";

    /// <summary>Test hook: runs after the weight files are written and before the manifest switches to them.</summary>
    internal static Action? BeforeManifest;

    /// <summary>Whether <paramref name="dir"/> holds a checkpoint manifest.</summary>
    public static bool Exists(string dir) => File.Exists(Path.Combine(dir, ManifestFile));

    /// <summary>Writes the weights (and optimizer state, when given) for <paramref name="state"/>'s step, then the
    /// manifest naming them, then deletes older weight files.</summary>
    /// <param name="dir">The run directory.</param>
    /// <param name="model">The model whose weights are saved.</param>
    /// <param name="optimizer">Its optimizer, whose state a resumed run needs; null saves none.</param>
    /// <param name="state">The run state to record; the model config, file names, hashes and save time are filled in.</param>
    /// <returns>The manifest as written.</returns>
    public static CheckpointManifest Save(string dir, LanguageModel model, IOptimizerState? optimizer, CheckpointManifest state)
    {
        var quantization = Modeling.Quantization.Of(model);
        if (quantization is not null && optimizer is not null) throw new InvalidOperationException("a quantised model is for inference: it has no optimizer state to save");
        string modelFile = $"model-{state.Step:D6}.{(quantization is null ? "bin" : "safetensors")}";
        string modelHash = quantization is not null
            ? WriteHashed(Path.Combine(dir, modelFile), s => QuantizedCheckpoint.Write(s, (Gpt)model, quantization))
            : WriteHashed(Path.Combine(dir, modelFile), s =>
            {
                using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
                SaveFloat32(model, w);
            });
        string? optFile = null, optHash = null;
        if (optimizer is not null)
        {
            optFile = $"optimizer-{state.Step:D6}.bin";
            optHash = WriteHashed(Path.Combine(dir, optFile), s =>
            {
                using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
                optimizer.Save(w);
            });
        }
        BeforeManifest?.Invoke();
        var manifest = state with
        {
            Model = model.Config, ModelFile = modelFile, ModelSha256 = modelHash, OptimizerFile = optFile,
            OptimizerSha256 = optHash, SavedAtUtc = DateTime.UtcNow, Quantization = quantization,
        };
        AtomicFile.WriteAllText(Path.Combine(dir, ManifestFile), JsonSerializer.Serialize(manifest, Json.Options));
        foreach (string stale in Directory.EnumerateFiles(dir, "model-*").Concat(Directory.EnumerateFiles(dir, "optimizer-*")).Where(f => IsWeightFile(f) && Path.GetFileName(f) != modelFile && Path.GetFileName(f) != optFile))
            File.Delete(stale);
        return manifest;
    }

    /// <summary>Weights are stored float32 whatever the model computes in (a bf16-true run): a float32 copy is written
    /// when any parameter is not.</summary>
    static void SaveFloat32(LanguageModel model, BinaryWriter w)
    {
        if (model.parameters().All(p => p.dtype == ScalarType.Float32))
        {
            model.save(w);
            return;
        }
        using var copy = LanguageModel.Create(model.Config);
        using (no_grad())
            foreach (var ((name, source), (copyName, target)) in model.named_parameters().Zip(copy.named_parameters()))
            {
                if (name != copyName) throw new InvalidOperationException($"parameter order differs: {name} vs {copyName}");
                target.copy_(source);
            }
        copy.save(w);
    }

    static bool IsWeightFile(string path)
    {
        string name = Path.GetFileName(path);
        return (name.StartsWith("model-", StringComparison.Ordinal) || name.StartsWith("optimizer-", StringComparison.Ordinal))
            && (name.EndsWith(".bin", StringComparison.Ordinal) || name.EndsWith(".safetensors", StringComparison.Ordinal));
    }

    /// <summary>The manifest in <paramref name="dir"/>, checked: a known format version and a valid model config.</summary>
    /// <exception cref="InvalidInputException">No such directory or manifest, or a malformed one; names the file.</exception>
    public static CheckpointManifest ReadManifest(string dir)
    {
        string path = Path.Combine(dir, ManifestFile);
        if (!Directory.Exists(dir)) throw InvalidInputException.ForFile(dir, "checkpoint directory not found");
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "not found: the directory holds no SharpLM checkpoint");
        var manifest = Json.ReadFile<CheckpointManifest>(path);
        if (manifest.FormatVersion != 1) throw InvalidInputException.ForFile(path, $"checkpoint format {manifest.FormatVersion} is not supported");
        manifest.Model.Validate(path);
        // Names must stay in the run directory, and the declared model must fit the weight file before anything
        // the size of the model is allocated (a small forged manifest could otherwise ask for terabytes).
        DeclaredSizes.RequireBareName(path, "model_file", manifest.ModelFile);
        if (manifest.OptimizerFile is not null) DeclaredSizes.RequireBareName(path, "optimizer_file", manifest.OptimizerFile);
        string weights = Path.Combine(dir, manifest.ModelFile);
        if (!File.Exists(weights)) throw InvalidInputException.ForFile(weights, "missing (named by checkpoint.json)");
        var m = manifest.Model;
        if (manifest.Quantization is { } q)
        {
            try
            {
                if (Modeling.Quantization.Spec(q.Scheme, q.GroupSize, "quantization.scheme") != q) throw new InvalidInputException($"quantization {q}: group_size does not fit the scheme");
            }
            catch (InvalidInputException e)
            {
                throw InvalidInputException.ForFile(path, e.Message, e);
            }
            if (m.Type != "transformer") throw InvalidInputException.ForFile(path, $"quantization: only Transformer weights are quantised, not a {m.Type}");
        }
        DeclaredSizes.RequireRoom(path, $"model (vocab_size {m.VocabSize}, n_embd {m.NEmbd}, n_layer {m.NLayer}, block_size {m.BlockSize})", m.MinimumParameters(), weights,
            manifest.Quantization is null ? DeclaredSizes.MinBytesPerParameter : QuantizedCheckpoint.MinBytesPerParameter);
        return manifest;
    }

    /// <summary>Builds the model the checkpoint describes and loads its weights (after checking their hash).</summary>
    public static (LanguageModel Model, CheckpointManifest Manifest) LoadModel(string dir, Device device)
    {
        var manifest = ReadManifest(dir);
        if (manifest.Quantization is not null) return (QuantizedCheckpoint.Load(dir, manifest, device), manifest);
        var model = LanguageModel.Create(manifest.Model);
        LoadWeights(dir, manifest, model, null);
        model.to(device);
        return (model, manifest);
    }

    /// <summary>Loads weights (and optimizer state when given) into existing objects of the same shape.</summary>
    public static void LoadWeights(string dir, CheckpointManifest manifest, LanguageModel model, IOptimizerState? optimizer)
    {
        if (manifest.Quantization is { } quantised)
            throw InvalidInputException.ForFile(Path.Combine(dir, ManifestFile), $"holds quantised weights ({quantised}), which are for inference only; train from the float model");
        if (manifest.Model with { Dropout = model.Config.Dropout } != model.Config with { Dropout = model.Config.Dropout })
            throw InvalidInputException.ForFile(Path.Combine(dir, ManifestFile), "checkpoint is for a different model configuration");
        string modelPath = Verified(dir, manifest.ModelFile, manifest.ModelSha256);
        try
        {
            // Load into a scratch model, then copy values in place: the live parameters may be views of a
            // contiguous buffer (ContiguousParameters) that must keep aliasing it.
            using var scratch = LanguageModel.Create(model.Config);
            using (var r = new BinaryReader(File.OpenRead(modelPath))) scratch.load(r, strict: true);
            using var _ = no_grad();
            foreach (var ((name, live), (loadedName, loaded)) in model.named_parameters().Zip(scratch.named_parameters()))
            {
                if (name != loadedName) throw new InvalidOperationException($"parameter order differs: {name} vs {loadedName}");
                live.copy_(loaded);
            }
        }
        catch (Exception e) when (e is not InvalidInputException)
        {
            throw InvalidInputException.ForFile(modelPath, $"cannot load weights: {InvalidInputException.FirstLine(e)}", e);
        }
        if (optimizer is null) return;
        if (manifest.OptimizerFile is null || manifest.OptimizerSha256 is null)
            throw InvalidInputException.ForFile(Path.Combine(dir, ManifestFile), "checkpoint has no optimizer state to resume from");
        string optPath = Verified(dir, manifest.OptimizerFile, manifest.OptimizerSha256);
        try
        {
            using var s = File.OpenRead(optPath);
            using var r = new BinaryReader(s);
            optimizer.Load(r);
        }
        catch (Exception e) when (e is not InvalidInputException)
        {
            throw InvalidInputException.ForFile(optPath, $"cannot load optimizer state: {InvalidInputException.FirstLine(e)}", e);
        }
    }

    internal static string Verified(string dir, string file, string sha256)
    {
        // ReadManifest checks this already; a manifest built elsewhere must not reach outside the run directory either.
        DeclaredSizes.RequireBareName(Path.Combine(dir, ManifestFile), "file", file);
        string path = Path.Combine(dir, file);
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "missing (named by checkpoint.json)");
        if (!string.Equals(Sha256(path), sha256, StringComparison.OrdinalIgnoreCase))
            throw InvalidInputException.ForFile(path, "corrupt: SHA-256 does not match checkpoint.json");
        return path;
    }

    static string WriteHashed(string path, Action<Stream> write)
    {
        AtomicFile.Write(path, write);
        return Sha256(path);
    }

    static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    /// <summary>libtorch's global generator state, base64-encoded, for <see cref="CheckpointManifest.TorchRngState"/>.</summary>
    public static string SaveRng()
    {
        using var state = torch.get_rng_state();
        return Convert.ToBase64String(state.data<byte>().ToArray());
    }

    /// <summary>Sets libtorch's global generator to a state from <see cref="SaveRng"/>; null leaves it alone.</summary>
    public static void RestoreRng(string? state)
    {
        if (state is null) return;
        byte[] bytes = Convert.FromBase64String(state);
        using var t = torch.tensor(bytes, ScalarType.Byte);
        torch.set_rng_state(t);
    }
}
