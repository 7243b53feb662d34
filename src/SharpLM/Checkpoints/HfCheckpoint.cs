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
        var model = new Gpt(config);
        var parameters = model.state_dict();
        var used = new HashSet<string>(StringComparer.Ordinal);
        using (no_grad())
        {
            foreach (var w in family.Weights(config))
            {
                string theirs = Stored(weights, family, w.Theirs) ?? throw new InvalidInputException($"{dir}: tensor '{w.Theirs}' (for {w.Ours}) is missing from the weights");
                used.Add(theirs);
                var target = parameters.TryGetValue(w.Ours, out var p) ? p : throw new InvalidOperationException($"{family.ModelType}: SharpLM has no parameter '{w.Ours}'");
                var entry = weights[theirs];
                long[] stored = w.Transposed && entry.Shape.Length == 2 ? [entry.Shape[1], entry.Shape[0]] : entry.Shape;
                if (!stored.SequenceEqual(target.shape))
                    throw new InvalidInputException($"{dir}: tensor '{theirs}' has shape [{string.Join(", ", entry.Shape)}]; config.json implies [{string.Join(", ", w.Transposed ? target.shape.Reverse() : target.shape)}]");
                using var scope = NewDisposeScope();
                var value = weights.Read(theirs, ScalarType.Float32);
                target.copy_(w.Transposed ? value.t() : value);
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
        if (dtype != ScalarType.Float32) model.to(dtype);
        model.eval();
        return model;
    }

    /// <summary>The name <paramref name="tensor"/> has in <paramref name="weights"/>: bare, or under the family's base-model prefix; null when absent.</summary>
    static string? Stored(SafetensorsCheckpoint weights, HfModelFamily family, string tensor) =>
        weights.Contains(tensor) ? tensor : weights.Contains(family.BasePrefix + tensor) ? family.BasePrefix + tensor : null;
}
