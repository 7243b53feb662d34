using SharpLM.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Checkpoints;

/// <summary>
/// The weights of a quantised SharpLM run: one safetensors file holding the model's state dict as it is after
/// <see cref="Quantization.Quantize"/> — float embeddings, norms and biases, and each Linear layer's packed values,
/// scales and offsets under its name ("h.0.attn.c_attn.quant.qweight"; its float weight is an empty placeholder) —
/// with the scheme in the header's metadata and in checkpoint.json. Loading builds the model the config describes
/// with empty quantised storage of the scheme's shapes, so no float weight is quantised again, and checks the file
/// against it before any tensor data is read: safetensors' own header checks (<see cref="SafetensorsFile"/>), then
/// exactly the expected tensors with the expected dtypes and shapes, then the SHA-256 checkpoint.json records; after
/// reading, every scale must be finite and positive. Each failure is one line naming the file and the tensor.
/// </summary>
public static class QuantizedCheckpoint
{
    /// <summary>The fewest bytes a quantised parameter takes (int4's half byte), for the room check on a declared config.</summary>
    public const double MinBytesPerParameter = 0.5;

    const string SchemeKey = "sharplm.quantization", GroupKey = "sharplm.group_size";

    /// <summary>Writes <paramref name="model"/>'s state dict (quantised as <paramref name="spec"/>) as safetensors to <paramref name="stream"/>.</summary>
    internal static void Write(Stream stream, Gpt model, QuantizationSpec spec)
    {
        var metadata = new Dictionary<string, string> { ["format"] = "pt", [SchemeKey] = spec.Scheme, [GroupKey] = spec.GroupSize.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        SafetensorsWriter.Write(stream, model.state_dict().Select(kv => (kv.Key, kv.Value)), metadata);
    }

    /// <summary>The model <paramref name="manifest"/> (checked by <see cref="Checkpoint.ReadManifest"/>) describes, with its quantised weights, on <paramref name="device"/>.</summary>
    /// <exception cref="InvalidInputException">The weight file fails a check; the message names it and the tensor.</exception>
    internal static Gpt Load(string dir, CheckpointManifest manifest, Device device)
    {
        var spec = manifest.Quantization!;
        string path = Path.Combine(dir, manifest.ModelFile);
        using var file = SafetensorsFile.Open(path);
        string recorded = $"{file.Metadata.GetValueOrDefault(SchemeKey)}/{file.Metadata.GetValueOrDefault(GroupKey)}";
        if (recorded != $"{spec.Scheme}/{spec.GroupSize}")
            throw InvalidInputException.ForFile(path, $"__metadata__ says quantization {recorded.Replace("/", " group ")}, but {Checkpoint.ManifestFile} says {spec}");
        var model = LanguageModel.Create(manifest.Model) as Gpt
            ?? throw InvalidInputException.ForFile(Path.Combine(dir, Checkpoint.ManifestFile), $"quantization: only decoder-only Transformers are quantised, not a {manifest.Model.Architecture}");
        try
        {
            Quantization.Prepare(model, spec);
            var expected = model.state_dict();
            foreach (var entry in file.Entries)
                if (!expected.ContainsKey(entry.Name)) throw InvalidInputException.ForFile(path, $"tensor '{entry.Name}' is not part of the {spec} model of this configuration");
            foreach (var (name, target) in expected)
            {
                if (!file.Entries.Any(e => e.Name == name)) throw InvalidInputException.ForFile(path, $"tensor '{name}' is missing (the {spec} model of this configuration has it)");
                var e = file[name];
                if (e.Dtype != target.dtype || !e.Shape.SequenceEqual(target.shape))
                    throw InvalidInputException.ForFile(path, $"tensor '{name}' is {SafetensorsDtype.Name(e.Dtype)} [{string.Join(", ", e.Shape)}], but the {spec} model of this configuration has {SafetensorsDtype.Name(target.dtype)} [{string.Join(", ", target.shape)}]");
            }
            Checkpoint.Verified(dir, manifest.ModelFile, manifest.ModelSha256);
            using (no_grad())
                foreach (var (name, target) in expected) file.ReadInto(name, target);
            foreach (var (name, module) in model.named_modules())
                if (module is QuantizedWeights q) q.Validate(path, name);
            model.to(device);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
