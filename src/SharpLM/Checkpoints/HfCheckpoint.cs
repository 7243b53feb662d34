using System.Text.Json;
using SharpLM.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Checkpoints;

/// <summary>
/// A Hugging Face model folder (<c>config.json</c> and safetensors weights) loaded as a SharpLM <see cref="Gpt"/>:
/// the family from <c>model_type</c> (<see cref="HfModelFamily"/>), every parameter from its tensor, checked for
/// shape before it is copied; a tensor the model does not use, or one it needs and the folder lacks, is an error
/// naming it.
/// </summary>
public static class HfCheckpoint
{
    /// <summary>The config file of a Hugging Face folder.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>The model config <paramref name="dir"/>'s config.json describes, and its family.</summary>
    /// <exception cref="InvalidInputException">No config.json, invalid JSON, an unknown model_type or an unsupported field.</exception>
    public static (ModelConfig Config, HfModelFamily Family) ReadConfig(string dir)
    {
        string path = Path.Combine(dir, ConfigFile);
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "no such file (a Hugging Face model folder has config.json)");
        using var doc = Runtime.Json.ReadDocument(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{path}: must be a JSON object");
        string? type = doc.RootElement.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var family = HfModelFamily.For(type, path);
        return (family.Config(doc.RootElement, path), family);
    }

    /// <summary>Loads the model in <paramref name="dir"/> in float32 (or <paramref name="dtype"/>), in eval mode.</summary>
    /// <exception cref="InvalidInputException">Any file fails a check, or the weights do not fit the config.</exception>
    public static Gpt Load(string dir, ScalarType dtype = ScalarType.Float32)
    {
        var (config, family) = ReadConfig(dir);
        using var weights = SafetensorsCheckpoint.Open(dir);
        // The declared model must fit the weights before anything its size is allocated: config.json may come from a stranger.
        IO.DeclaredSizes.RequireRoom(Path.Combine(dir, ConfigFile), "the model", config.MinimumParameters(),
            weights.Names.Sum(n => weights[n].End - weights[n].Begin), "the safetensors weights");
        var model = new Gpt(config, initialize: false); // every weight is read below
        var parameters = model.state_dict();
        var used = new HashSet<string>(StringComparer.Ordinal);
        using (no_grad())
        {
            foreach (var w in family.Weights(config))
            {
                var target = parameters.TryGetValue(w.Ours, out var p) ? p : throw new InvalidOperationException($"{family.ModelType}: SharpLM has no parameter '{w.Ours}'");
                var stored = w.Theirs.Select(name => Stored(weights, family, name) ?? throw new InvalidInputException($"{dir}: tensor '{name}' (for {w.Ours}) is missing from the weights")).ToArray();
                used.UnionWith(stored);
                for (int part = 0; part < stored.Length; part++)
                {
                    // Each part must have the shape of its rows of the parameter: a wrong k_proj is named as such.
                    long[] expected = w.Rows is null ? target.shape : [w.Rows[part], .. target.shape.Skip(1)];
                    if (w.Transposed) expected = expected.Reverse().ToArray();
                    long[] actual = weights[stored[part]].Shape;
                    if (!actual.SequenceEqual(expected))
                        throw new InvalidInputException($"{dir}: tensor '{stored[part]}' has shape [{string.Join(", ", actual)}]; config.json implies [{string.Join(", ", expected)}]");
                }
                // Straight from the map into the parameter, a band of rows at a time; never a second copy of a tensor.
                // The scope frees every temporary view at once (a transposed view keeps its band alive until disposed).
                using var scope = NewDisposeScope();
                long row = 0;
                for (int part = 0; part < stored.Length; part++)
                {
                    var entry = weights[stored[part]];
                    long rows = entry.Shape.Length == 0 ? 1 : entry.Shape[0];
                    if (w.Transposed)
                    {
                        // Conv1D stores [in, out]: a band of its rows is a band of the Linear weight's columns.
                        for (long r = 0, band = weights.RowsPerChunk(stored[part]); r < rows; r += band)
                        {
                            using var t = weights.ReadRows(stored[part], r, Math.Min(band, rows - r));
                            using var columns = target.narrow(1, r, t.shape[0]);
                            columns.copy_(t.t());
                        }
                        continue;
                    }
                    var destination = stored.Length == 1 ? target : target.narrow(0, row, rows);
                    row += rows;
                    if (entry.Dtype == target.dtype) weights.ReadInto(stored[part], destination);
                    else if (entry.Shape.Length == 0) destination.copy_(weights.Read(stored[part]));
                    else
                        for (long r = 0, band = weights.RowsPerChunk(stored[part]); r < rows; r += band)
                        {
                            using var t = weights.ReadRows(stored[part], r, Math.Min(band, rows - r));
                            using var slice = destination.narrow(0, r, t.shape[0]);
                            slice.copy_(t); // converts bf16 / f16 to the model's dtype
                        }
                }
            }
        }
        // A tied head may still be saved (older save_pretrained did): it must then be the embedding, or the folder
        // describes a different model than its config.json.
        if (config.TieEmbeddings && Stored(weights, family, family.HeadTensor) is string head)
        {
            used.Add(head);
            using var scope = NewDisposeScope();
            if (!weights.Read(head, ScalarType.Float32).Equals(parameters[family.EmbeddingParameter].to(ScalarType.Float32)))
                throw new InvalidInputException($"{dir}: tensor '{head}' differs from the token embedding, but config.json ties them (tie_word_embeddings)");
        }
        foreach (string name in weights.Names)
        {
            string bare = name.StartsWith(family.BasePrefix, StringComparison.Ordinal) ? name[family.BasePrefix.Length..] : name;
            if (!used.Contains(name) && !family.Ignorable(bare))
                throw new InvalidInputException($"{dir}: tensor '{name}' is not part of a {family.ModelType} model of this config.json");
        }
        // The model was built without initialisation: a parameter the family does not map would hold garbage.
        if (parameters.Keys.Except(family.Weights(config).Select(w => w.Ours)).FirstOrDefault() is string unmapped)
            throw new InvalidOperationException($"{family.ModelType}: SharpLM's parameter '{unmapped}' has no tensor in the family's mapping");
        if (dtype != ScalarType.Float32) model.to(dtype);
        model.eval();
        return model;
    }

    /// <summary>
    /// Writes <paramref name="model"/> as a Hugging Face folder: config.json of its family (<see cref="HfModelFamily.ForExport"/>)
    /// and the weights in <paramref name="dtype"/>, one model.safetensors or shards of at most <paramref name="maxShardBytes"/>
    /// with their index, named as <c>save_pretrained</c> names them (a tied head is not saved). Returns the family.
    /// </summary>
    /// <exception cref="InvalidInputException">No family (or not the named one) describes the model; the message names the field.</exception>
    public static HfModelFamily Save(Gpt model, string dir, string? modelType = null, ScalarType dtype = ScalarType.Float32, long maxShardBytes = 5_000_000_000)
    {
        var config = model.Config;
        var family = HfModelFamily.ForExport(config, modelType);
        var json = family.ConfigJson(config);
        json["torch_dtype"] = dtype switch { ScalarType.BFloat16 => "bfloat16", ScalarType.Float16 => "float16", _ => "float32" };
        Directory.CreateDirectory(dir);
        using var scope = NewDisposeScope();
        var parameters = model.state_dict();
        var tensors = new List<(string Name, Tensor Tensor)>();
        foreach (var w in family.Weights(config))
        {
            var value = parameters[w.Ours].detach();
            var parts = w.Rows is null ? [value] : value.split(w.Rows.ToArray(), 0);
            for (int i = 0; i < parts.Length; i++)
                tensors.Add((family.SavedName(w.Theirs[i]), (w.Transposed ? parts[i].t() : parts[i]).to(dtype).contiguous()));
        }
        SafetensorsCheckpoint.Write(dir, tensors, maxShardBytes, new Dictionary<string, string> { ["format"] = "pt" });
        IO.AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        return family;
    }

    /// <summary>The name <paramref name="tensor"/> has in <paramref name="weights"/>: bare, or under the family's base-model prefix; null when absent.</summary>
    static string? Stored(SafetensorsCheckpoint weights, HfModelFamily family, string tensor) =>
        weights.Contains(tensor) ? tensor : weights.Contains(family.BasePrefix + tensor) ? family.BasePrefix + tensor : null;
}
