using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SharpLM.Checkpoints;
using SharpLM.IO;
using SharpLM.Modeling;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft.Lora;

/// <summary>
/// LoRA adapters in Hugging Face PEFT's layout, for bases of the Hugging Face families (<see cref="HfModelFamily"/>:
/// gpt2, llama, mistral, qwen2), so an adapter trained here loads with <c>PeftModel.from_pretrained</c> over the
/// exported base, and one trained with PEFT loads here. The folder holds adapter_config.json (PEFT's LoraConfig:
/// peft_type "LORA", r, lora_alpha, target_modules as Hugging Face module names, …) and adapter_model.safetensors
/// with <c>base_model.model.{module}.lora_A.weight</c> [r, in] and <c>.lora_B.weight</c> [out, r].
/// <para>The update is the same: PEFT scales B·A by lora_alpha / r, SharpLM by alpha / rank
/// (<see cref="LoraOptions.Scale"/>), so r = rank and lora_alpha = alpha. SharpLM's LoRA on the q, k or v rows of
/// its fused c_attn is PEFT's LoRA on q_proj, k_proj or v_proj (the rows <see cref="HfWeight.Rows"/> gives each);
/// GPT-2's c_attn is one Conv1D in both, adapted whole (fan_in_fan_out: PEFT transposes the product when merging,
/// A and B have the same shapes). A SharpLM adapter with no PEFT counterpart is refused by module, and a PEFT
/// config field SharpLM does not implement (DoRA, rsLoRA, biases, per-layer ranks, …) is refused by name.</para>
/// </summary>
public static class HfPeftLora
{
    /// <summary>PEFT's weight file name.</summary>
    public const string WeightsFile = "adapter_model.safetensors";

    /// <summary>The prefix PEFT puts before a module's name in the saved state dict (PeftModel → LoraModel → the model).</summary>
    public const string KeyPrefix = "base_model.model.";

    /// <summary>Whether <paramref name="dir"/>'s adapter_config.json is PEFT's (it has "peft_type"; SharpLM's has "method").</summary>
    public static bool IsPeftFolder(string dir)
    {
        string path = Path.Combine(dir, AdapterDirectory.ConfigFile);
        if (!File.Exists(path)) return false;
        using var doc = Runtime.Json.ReadDocument(path);
        return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("peft_type", out _);
    }

    /// <summary>
    /// Writes <paramref name="lora"/> into <paramref name="dir"/> in PEFT's layout: the weights first, then the config,
    /// each atomically. <paramref name="baseModelNameOrPath"/> is recorded as base_model_name_or_path (default: where
    /// the base came from, <see cref="PeftMethod.BaseCheckpoint"/>).
    /// </summary>
    /// <exception cref="InvalidInputException">The base is of no Hugging Face family, or a LoRA layer has no PEFT
    /// counterpart (names the module).</exception>
    /// <exception cref="InvalidOperationException">The updates are merged into the weights.</exception>
    public static void Save(LoraTuning lora, string dir, string? baseModelNameOrPath = null)
    {
        if (lora.IsMerged) throw new InvalidOperationException("unmerge LoRA before saving the adapter");
        var family = Family(lora.Model, dir);
        var modules = Modules(lora.Model, family);
        var chosen = new List<string>();
        foreach (string path in lora.TargetPaths)
            chosen.Add(modules.TryGetValue(path, out var module) ? module.Name
                : throw new InvalidInputException($"{dir}: LoRA on {path} has no Hugging Face PEFT counterpart in a {family.ModelType} model (PEFT can adapt: {Sample(modules.Keys)}); save it in SharpLM's format"));
        var tensors = new List<(string, Tensor)>();
        using var scope = NewDisposeScope();
        foreach (var (module, layer) in chosen.Zip(lora.Layers))
        {
            tensors.Add(($"{KeyPrefix}{module}.lora_A.weight", layer.A.detach().to(ScalarType.Float32).contiguous()));
            tensors.Add(($"{KeyPrefix}{module}.lora_B.weight", layer.B.detach().to(ScalarType.Float32).contiguous()));
        }
        Directory.CreateDirectory(dir);
        SafetensorsWriter.Write(Path.Combine(dir, WeightsFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var o = lora.Options;
        var config = new JsonObject
        {
            ["peft_type"] = "LORA", ["task_type"] = "CAUSAL_LM", ["base_model_name_or_path"] = baseModelNameOrPath ?? lora.BaseCheckpoint,
            ["revision"] = null, ["inference_mode"] = true, ["r"] = o.Rank, ["lora_alpha"] = o.Alpha, ["lora_dropout"] = o.Dropout,
            ["target_modules"] = new JsonArray(TargetModules(chosen, modules.Values.Select(m => m.Name)).Select(t => (JsonNode)t!).ToArray()),
            ["fan_in_fan_out"] = modules.Values.Any(m => chosen.Contains(m.Name) && m.Transposed), ["bias"] = "none",
            ["use_rslora"] = false, ["use_dora"] = false, ["modules_to_save"] = null, ["init_lora_weights"] = true,
            ["layers_to_transform"] = null, ["layers_pattern"] = null, ["rank_pattern"] = new JsonObject(), ["alpha_pattern"] = new JsonObject(),
        };
        AtomicFile.WriteAllText(Path.Combine(dir, AdapterDirectory.ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// Applies the PEFT LoRA adapter in <paramref name="dir"/> to <paramref name="model"/>: the config's target_modules
    /// chosen among the Hugging Face modules of the base's family, and exactly their lora_A and lora_B tensors read,
    /// every name and shape checked before the model is touched. PEFT records no hash of the base, so a base of the
    /// right shapes but other weights is not detected.
    /// </summary>
    /// <exception cref="InvalidInputException">An unsupported config field, a missing, extra or misshapen tensor, or a
    /// base of no Hugging Face family; names the file and the field or tensor.</exception>
    public static LoraTuning Load(string dir, Gpt model, string? baseCheckpoint = null)
    {
        string path = Path.Combine(dir, AdapterDirectory.ConfigFile);
        using var doc = Runtime.Json.ReadDocument(path);
        var c = doc.RootElement;
        if (c.ValueKind != JsonValueKind.Object) throw InvalidInputException.ForFile(path, "must be a JSON object");
        RefuseUnsupported(c, path);
        int rank = Field(c, "r", path, 8, v => v.TryGetInt32(out int r) && r >= 1 ? r : null, "a positive integer");
        double alpha = Field(c, "lora_alpha", path, 8.0, v => v.ValueKind == JsonValueKind.Number && v.GetDouble() is > 0 and var a && double.IsFinite(a) ? a : null, "a positive number");
        double dropout = Field(c, "lora_dropout", path, 0.0, v => v.ValueKind == JsonValueKind.Number && v.GetDouble() is >= 0 and < 1 ? v.GetDouble() : null, "a number in [0, 1)");
        var family = Family(model, path);
        var modules = Modules(model, family);
        var chosen = Chosen(c, modules, path);

        string weights = Path.Combine(dir, WeightsFile);
        if (!File.Exists(weights))
            throw InvalidInputException.ForFile(weights, File.Exists(Path.Combine(dir, "adapter_model.bin"))
                ? "missing: the folder has PEFT's pickled adapter_model.bin, which SharpLM does not read (save with safe_serialization=True)"
                : $"missing (a PEFT folder's {AdapterDirectory.ConfigFile} goes with it)");
        using var file = SafetensorsFile.Open(weights);
        var expected = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (_, module) in chosen)
        {
            expected[$"{KeyPrefix}{module.Name}.lora_A.weight"] = [rank, module.Target.Layer.weight!.shape[1]];
            expected[$"{KeyPrefix}{module.Name}.lora_B.weight"] = [module.Target.Rows, rank];
        }
        foreach (var (key, shape) in expected)
        {
            if (!file.Entries.Any(e => e.Name == key)) throw InvalidInputException.ForFile(weights, $"has no tensor '{key}' (named by target_modules in {AdapterDirectory.ConfigFile})");
            if (!file[key].Shape.SequenceEqual(shape))
                throw InvalidInputException.ForFile(weights, $"tensor '{key}' is [{string.Join(", ", file[key].Shape)}]; r {rank} and the base imply [{string.Join(", ", shape)}]");
        }
        if (file.Entries.FirstOrDefault(e => !expected.ContainsKey(e.Name)) is { } extra)
            throw InvalidInputException.ForFile(weights, $"tensor '{extra.Name}' is not a LoRA factor of a module target_modules chooses in this {family.ModelType} base");

        var options = new LoraOptions { Rank = rank, Alpha = alpha, Dropout = dropout, TargetModules = chosen.Select(m => m.Path).ToList() }.Validate(path);
        var lora = LoraTuning.Apply(model, options, baseCheckpoint);
        using var noGrad = no_grad();
        foreach (var (path2, layer) in lora.TargetPaths.Zip(lora.Layers))
        {
            string module = modules[path2].Name;
            using var scope = NewDisposeScope();
            layer.A.copy_(file.Read($"{KeyPrefix}{module}.lora_A.weight", ScalarType.Float32));
            layer.B.copy_(file.Read($"{KeyPrefix}{module}.lora_B.weight", ScalarType.Float32));
        }
        return lora;
    }

    /// <summary>A Hugging Face module LoRA can adapt: its name in the saved model ("model.layers.0.self_attn.q_proj"),
    /// whether its weight is stored transposed (GPT-2's Conv1D), and the SharpLM target it is.</summary>
    sealed record HfModule(string Name, bool Transposed, LoraTargets.Target Target);

    /// <summary>Every SharpLM LoRA target with a PEFT counterpart, by its SharpLM path: a Linear stored as one
    /// Hugging Face tensor is that module; a fused Linear stored as several (Llama's q_proj, k_proj, v_proj) has one
    /// per row range, which is SharpLM's target on those rows.</summary>
    static Dictionary<string, HfModule> Modules(Gpt model, HfModelFamily family)
    {
        var candidates = LoraTargets.Candidates(model);
        var result = new Dictionary<string, HfModule>(StringComparer.Ordinal);
        foreach (var w in family.Weights(model.Config).Where(w => w.Ours.EndsWith(".weight", StringComparison.Ordinal)))
        {
            var whole = candidates.FirstOrDefault(t => t.Path == w.Ours[..^".weight".Length]);
            if (whole is null) continue; // an embedding or a norm
            long offset = 0;
            for (int part = 0; part < w.Theirs.Count; part++)
            {
                long rows = w.Rows?[part] ?? whole.Rows;
                var target = w.Theirs.Count == 1 ? whole
                    : candidates.FirstOrDefault(t => ReferenceEquals(t.Layer, whole.Layer) && t != whole && t.RowOffset == offset && t.Rows == rows);
                if (target is not null) result[target.Path] = new HfModule(family.SavedName(w.Theirs[part])[..^".weight".Length], w.Transposed, target);
                offset += rows;
            }
        }
        return result;
    }

    /// <summary>
    /// target_modules for the chosen modules: a module's last name ("q_proj") where every module of that name is
    /// chosen, else the chosen ones' full names — PEFT matches an entry as the whole name or a dotted suffix of it, so
    /// either chooses exactly these modules.
    /// </summary>
    static IEnumerable<string> TargetModules(IReadOnlyList<string> chosen, IEnumerable<string> all)
    {
        static string Last(string name) => name[(name.LastIndexOf('.') + 1)..];
        var byLast = all.GroupBy(Last).ToDictionary(g => g.Key, g => g.ToList());
        var result = new List<string>();
        foreach (var group in chosen.GroupBy(Last))
            if (byLast[group.Key].All(chosen.Contains)) result.Add(group.Key);
            else result.AddRange(group);
        return result;
    }

    /// <summary>The modules the config's target_modules chooses (a list: whole names or dotted suffixes; a string: a
    /// regular expression over whole names; "all-linear": every Linear but the output head), in model order.</summary>
    static List<(string Path, HfModule Module)> Chosen(JsonElement c, Dictionary<string, HfModule> modules, string path)
    {
        if (!c.TryGetProperty("target_modules", out var t) || t.ValueKind == JsonValueKind.Null)
            throw InvalidInputException.ForFile(path, "target_modules is missing (SharpLM has no per-architecture default)");
        Func<string, bool> matches;
        if (t.ValueKind == JsonValueKind.String && t.GetString() == "all-linear")
            matches = name => name != "lm_head";
        else if (t.ValueKind == JsonValueKind.String)
        {
            string pattern = t.GetString()!;
            try
            {
                // A stranger's pattern: a time limit keeps a catastrophic one from hanging the load.
                var regex = new Regex($"^(?:{pattern})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                matches = name =>
                {
                    try { return regex.IsMatch(name); }
                    catch (RegexMatchTimeoutException) { throw InvalidInputException.ForFile(path, $"target_modules '{pattern}' takes too long to match (over 1 s)"); }
                };
            }
            catch (ArgumentException e)
            {
                throw InvalidInputException.ForFile(path, $"target_modules '{pattern}' is not a valid regular expression: {InvalidInputException.FirstLine(e)}", e);
            }
        }
        else if (t.ValueKind == JsonValueKind.Array && t.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
        {
            var names = t.EnumerateArray().Select(e => e.GetString()!).ToList();
            foreach (string name in names)
                if (!modules.Values.Any(m => m.Name == name || m.Name.EndsWith("." + name, StringComparison.Ordinal)))
                    throw InvalidInputException.ForFile(path, $"target_modules entry '{name}' names no module SharpLM can adapt in this base (such as {Sample(modules.Values.Select(m => m.Name))})");
            matches = module => names.Any(n => module == n || module.EndsWith("." + n, StringComparison.Ordinal));
        }
        else throw InvalidInputException.ForFile(path, $"target_modules must be a list of module names or a regular expression, not {t}");
        var chosen = modules.Where(m => matches(m.Value.Name)).Select(m => (m.Key, m.Value)).ToList();
        return chosen.Count > 0 ? chosen : throw InvalidInputException.ForFile(path, $"target_modules {t} chooses no module of this base");
    }

    /// <summary>
    /// Refuses every LoraConfig field whose value changes the computation in a way SharpLM's LoRA does not implement
    /// (or that changes the base itself, as PiSSA's or LoftQ's initialisations do), naming the field.
    /// </summary>
    static void RefuseUnsupported(JsonElement c, string path)
    {
        static bool Absent(JsonElement v) => v.ValueKind == JsonValueKind.Null
            || v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 0
            || v.ValueKind == JsonValueKind.Object && !v.EnumerateObject().Any();
        static bool IsFalse(JsonElement v) => v.ValueKind is JsonValueKind.False or JsonValueKind.Null;
        var rules = new (string Field, Func<JsonElement, bool> Ok, string Supported)[]
        {
            ("peft_type", v => v.ValueKind == JsonValueKind.String && v.GetString() == "LORA", "LORA"),
            ("task_type", v => v.ValueKind == JsonValueKind.Null || v.ValueKind == JsonValueKind.String && v.GetString() == "CAUSAL_LM", "CAUSAL_LM"),
            ("use_dora", IsFalse, "false"), ("use_rslora", IsFalse, "false"), ("lora_bias", IsFalse, "false"), ("use_qalora", IsFalse, "false"),
            ("bias", v => v.ValueKind == JsonValueKind.String && v.GetString() == "none", "\"none\""),
            ("init_lora_weights", v => v.ValueKind is JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null || v.ValueKind == JsonValueKind.String && v.GetString() == "gaussian",
                "true, false or \"gaussian\": other initialisations change the base weights"),
            ("modules_to_save", Absent, "null"), ("rank_pattern", Absent, "{}"), ("alpha_pattern", Absent, "{}"),
            ("layers_to_transform", Absent, "null"), ("layer_replication", Absent, "null"), ("exclude_modules", Absent, "null"),
            ("trainable_token_indices", Absent, "null"), ("target_parameters", Absent, "null"), ("loftq_config", Absent, "{}"), ("megatron_config", Absent, "null"),
        };
        foreach (var (field, ok, supported) in rules)
        {
            bool present = c.TryGetProperty(field, out var v);
            if (field == "peft_type" ? !present || !ok(v) : present && !ok(v))
                throw InvalidInputException.ForFile(path, $"{field} {(present ? v.GetRawText() : "(missing)")} is not supported (SharpLM loads {supported})");
        }
    }

    /// <summary>A field read by <paramref name="read"/> (null: malformed), or <paramref name="fallback"/> (PEFT's
    /// default) when absent.</summary>
    static T Field<T>(JsonElement c, string field, string path, T fallback, Func<JsonElement, T?> read, string expected) where T : struct
    {
        if (!c.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        return (v.ValueKind == JsonValueKind.Number ? read(v) : null) ?? throw InvalidInputException.ForFile(path, $"{field} must be {expected}, not {v.GetRawText()}");
    }

    /// <summary>The family the base is exported as (names agree within llama, mistral and qwen2).</summary>
    static HfModelFamily Family(Gpt model, string path)
    {
        try
        {
            return HfModelFamily.ForExport(model.Config);
        }
        catch (InvalidInputException e)
        {
            throw InvalidInputException.ForFile(path, $"PEFT's layout needs a base of a Hugging Face family; {e.Message}", e);
        }
    }

    /// <summary>The first layer's names and those outside the layers, for messages.</summary>
    static string Sample(IEnumerable<string> names) =>
        string.Join(", ", names.Where(n => !Regex.IsMatch(n, @"(^|\.)(h|layers)\.\d+\.") || Regex.IsMatch(n, @"(^|\.)(h|layers)\.0\.")).Take(12)) + ", …";
}
