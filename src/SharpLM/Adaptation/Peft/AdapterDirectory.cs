using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SharpLM.IO;
using SharpLM.Modeling;
using SharpLM.Runtime;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft;

/// <summary>
/// A saved adapter: a small directory with adapter_config.json (<see cref="PeftConfig"/>) and adapter_model.bin
/// (only the method's own tensors). The weight file is written atomically first, then the config that names it
/// and its SHA-256, so a crash leaves either the previous adapter or the new one, never a mix.
/// adapter_model.bin is "SLMPEFT1", a tensor count, then per tensor: name, rank, dims (int64), float32 values,
/// little-endian — raw numbers, so loading runs no code.
/// </summary>
public static class AdapterDirectory
{
    /// <summary>The name of the config file in an adapter directory.</summary>
    public const string ConfigFile = "adapter_config.json";
    /// <summary>The name of the weight file in an adapter directory.</summary>
    public const string WeightsFile = "adapter_model.bin";
    const string Magic = "SLMPEFT1";

    /// <summary>
    /// Writes <paramref name="tensors"/> to adapter_model.bin, then <paramref name="config"/> with the weight file's
    /// name, SHA-256 and the save time filled in, both atomically, into the existing directory <paramref name="dir"/>.
    /// </summary>
    public static void Save(string dir, PeftConfig config, IReadOnlyList<(string Name, Tensor Value)> tensors)
    {
        string weights = Path.Combine(dir, WeightsFile);
        AtomicFile.Write(weights, s => WriteTensors(s, tensors));
        string sha;
        using (var s = File.OpenRead(weights)) sha = Convert.ToHexStringLower(SHA256.HashData(s));
        var final = config with { WeightsFile = WeightsFile, WeightsSha256 = sha, SavedAtUtc = DateTime.UtcNow };
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), JsonSerializer.Serialize(final, Json.Options));
    }

    /// <summary>The adapter_config.json in <paramref name="dir"/>, checked: a known format version and method, a valid
    /// base model config, and the options block the method needs.</summary>
    /// <exception cref="InvalidInputException">The directory or the file is missing, or the file is malformed; names the
    /// file.</exception>
    public static PeftConfig ReadConfig(string dir)
    {
        string path = Path.Combine(dir, ConfigFile);
        if (!Directory.Exists(dir)) throw InvalidInputException.ForFile(dir, "adapter directory not found");
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "not found: the directory holds no saved adapter");
        var config = Json.ReadFile<PeftConfig>(path);
        if (config.FormatVersion != 1) throw InvalidInputException.ForFile(path, $"adapter format {config.FormatVersion} is not supported");
        config.BaseModel.Validate(path);
        var method = PeftMethods.Find(config.Method)
            ?? throw InvalidInputException.ForFile(path, $"method '{config.Method}' is not supported (supported: {PeftMethods.Names})");
        if (!method.HasOptions(config)) throw InvalidInputException.ForFile(path, $"method '{config.Method}' has no '{config.Method}' options block");
        // The weight file must be in this directory, and hold at least what the options declare: the method's
        // tensors are allocated from the options before the weights are read.
        DeclaredSizes.RequireBareName(path, "weights_file", config.WeightsFile);
        string weights = Path.Combine(dir, config.WeightsFile);
        if (!File.Exists(weights)) throw InvalidInputException.ForFile(weights, $"missing (named by {ConfigFile})");
        var (field, declared) = method.DeclaredSize(config);
        DeclaredSizes.RequireRoom(path, field, declared, weights);
        return config;
    }

    /// <summary>
    /// Throws a one-line error naming both weight hashes (and both origins, where known) unless
    /// <paramref name="model"/> is the base the adapter in <paramref name="dir"/> was trained on.
    /// </summary>
    public static void CheckBase(string dir, PeftConfig config, Gpt model, string? baseCheckpoint)
    {
        string path = Path.Combine(dir, ConfigFile);
        string Origin(string? where) => where is null ? "" : $" ({where})";
        if (config.BaseModel with { Dropout = 0 } != model.Config with { Dropout = 0 })
            throw InvalidInputException.ForFile(path, $"adapter is for a different model configuration than the base{Origin(baseCheckpoint)} (trained on base{Origin(config.BaseCheckpoint)} with base weights sha256 {config.BaseSha256})");
        string actual = BaseWeights.Sha256(model);
        if (!string.Equals(actual, config.BaseSha256, StringComparison.OrdinalIgnoreCase))
            throw InvalidInputException.ForFile(path, $"adapter was trained on base weights sha256 {config.BaseSha256}{Origin(config.BaseCheckpoint)}, but the given base{Origin(baseCheckpoint)} has weights sha256 {actual}");
    }

    /// <summary>Copies the saved tensors into <paramref name="targets"/>, which must match them by name and shape.</summary>
    public static void LoadWeights(string dir, PeftConfig config, IReadOnlyList<(string Name, Tensor Value)> targets)
    {
        string path = Path.Combine(dir, config.WeightsFile);
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, $"missing (named by {ConfigFile})");
        string sha;
        using (var s = File.OpenRead(path)) sha = Convert.ToHexStringLower(SHA256.HashData(s));
        if (!string.Equals(sha, config.WeightsSha256, StringComparison.OrdinalIgnoreCase))
            throw InvalidInputException.ForFile(path, $"corrupt: SHA-256 does not match {ConfigFile}");
        List<(string Name, long[] Shape, float[] Values)> saved;
        try
        {
            using var s = File.OpenRead(path);
            saved = ReadTensors(s);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or InvalidDataException)
        {
            throw InvalidInputException.ForFile(path, $"cannot read adapter weights: {InvalidInputException.FirstLine(e)}", e);
        }
        var byName = saved.ToDictionary(t => t.Name);
        string? missing = targets.Select(t => t.Name).FirstOrDefault(n => !byName.ContainsKey(n));
        if (missing is not null) throw InvalidInputException.ForFile(path, $"has no tensor '{missing}' (the options in {ConfigFile} do not match the weights)");
        if (saved.Count != targets.Count)
            throw InvalidInputException.ForFile(path, $"holds {saved.Count} tensors, the method has {targets.Count}");
        using var noGrad = no_grad();
        foreach (var (name, target) in targets)
        {
            var (_, shape, values) = byName[name];
            if (!shape.SequenceEqual(target.shape))
                throw InvalidInputException.ForFile(path, $"tensor '{name}' is [{string.Join(", ", shape)}], the method expects [{string.Join(", ", target.shape)}]");
            using var loaded = tensor(values, shape);
            target.copy_(loaded);
        }
    }

    internal static void WriteTensors(Stream stream, IReadOnlyList<(string Name, Tensor Value)> tensors)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Encoding.ASCII.GetBytes(Magic));
        w.Write(tensors.Count);
        using var scope = NewDisposeScope();
        foreach (var (name, value) in tensors)
        {
            w.Write(name);
            w.Write(value.shape.Length);
            foreach (long d in value.shape) w.Write(d);
            float[] values = value.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
            w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        }
    }

    internal static List<(string Name, long[] Shape, float[] Values)> ReadTensors(Stream stream)
    {
        using var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        if (Encoding.ASCII.GetString(r.ReadBytes(Magic.Length)) != Magic) throw new InvalidDataException("not a SharpLM adapter weight file");
        int count = r.ReadInt32();
        var result = new List<(string, long[], float[])>();
        for (int i = 0; i < count; i++)
        {
            string name = r.ReadString();
            int rank = r.ReadInt32();
            if (rank < 0 || rank > 8) throw new InvalidDataException($"tensor '{name}' has rank {rank}");
            var shape = new long[rank];
            for (int d = 0; d < rank; d++) shape[d] = r.ReadInt64();
            // In double: a forged shape's product could wrap a long back into range.
            double n = shape.Aggregate(1.0, (a, b) => a * b);
            if (shape.Any(d => d < 0) || n * 4 > stream.Length) throw new InvalidDataException($"tensor '{name}' is larger than the file");
            byte[] bytes = r.ReadBytes((int)(n * 4));
            if (bytes.Length != n * 4) throw new EndOfStreamException($"tensor '{name}' is truncated");
            var values = new float[(int)n];
            Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
            result.Add((name, shape, values));
        }
        return result;
    }
}
