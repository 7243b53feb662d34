using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Checkpoints;
using SharpLM.Modeling;
using SharpLM.Templates;
using SharpLM.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Adaptation;

/// <summary>The formats a model is read from and written to.</summary>
public enum ModelFormat
{
    /// <summary>A SharpLM run directory: checkpoint.json, its weights, tokenizer.json, chat_template.json.</summary>
    SharpLM,
    /// <summary>A Hugging Face folder: config.json, safetensors (one file or shards), tokenizer.json.</summary>
    HuggingFace,
    /// <summary>A GGUF file, llama.cpp's format.</summary>
    Gguf,
}

/// <summary>
/// Where a model is: "hf:DIR", "gguf:FILE", "sharplm:DIR", or a bare path whose contents say which (checkpoint.json:
/// SharpLM; config.json: Hugging Face; a file starting with "GGUF": GGUF).
/// </summary>
/// <param name="Format">The format.</param>
/// <param name="Path">The directory or file.</param>
public sealed record ModelLocation(ModelFormat Format, string Path)
{
    static readonly (string Prefix, ModelFormat Format)[] Prefixes = [("hf:", ModelFormat.HuggingFace), ("gguf:", ModelFormat.Gguf), ("sharplm:", ModelFormat.SharpLM)];

    /// <summary>Parses a spec (for reading: a bare path is recognised by its contents).</summary>
    /// <exception cref="InvalidInputException">A bare path that is none of the formats.</exception>
    public static ModelLocation Parse(string spec)
    {
        foreach (var (prefix, format) in Prefixes)
            if (spec.StartsWith(prefix, StringComparison.Ordinal)) return new(format, spec[prefix.Length..]);
        if (Directory.Exists(spec))
        {
            if (Checkpoint.Exists(spec)) return new(ModelFormat.SharpLM, spec);
            if (File.Exists(System.IO.Path.Combine(spec, HfCheckpoint.ConfigFile))) return new(ModelFormat.HuggingFace, spec);
        }
        else if (File.Exists(spec) && IsGguf(spec)) return new(ModelFormat.Gguf, spec);
        throw InvalidInputException.ForFile(spec, "is not a SharpLM run directory (checkpoint.json), a Hugging Face folder (config.json) or a GGUF file; name the format with sharplm:, hf: or gguf:");
    }

    /// <summary>Parses a destination: the prefix is required, since the path need not exist yet.</summary>
    public static ModelLocation ParseDestination(string spec)
    {
        foreach (var (prefix, format) in Prefixes)
            if (spec.StartsWith(prefix, StringComparison.Ordinal) && spec.Length > prefix.Length) return new(format, spec[prefix.Length..]);
        throw new InvalidInputException($"--to '{spec}': name the format and path as hf:DIR, gguf:FILE or sharplm:DIR");
    }

    static bool IsGguf(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var f = File.OpenRead(path);
        return f.Read(magic) == 4 && BitConverter.ToUInt32(magic) == GgufFile.Magic;
    }

    /// <summary>The spec with its prefix, as messages and adapter configs record it.</summary>
    public override string ToString() => Format switch { ModelFormat.HuggingFace => "hf:", ModelFormat.Gguf => "gguf:", _ => "sharplm:" } + Path;
}

/// <summary>
/// A model ready to use — the one way every command and experiment loads one: weights from any supported format
/// (<see cref="ModelLocation"/>), the tokenizer that goes with them, the chat template the source declares, and
/// optionally an adapter on top (which may bring its own tokenizer and template, as SFT saves them), with every
/// consistency check in one place.
/// </summary>
public sealed class ModelBundle
{
    /// <summary>The model, on <see cref="Device"/>, in eval mode; with the adapter inside it when one was given.</summary>
    public required LanguageModel Model { get; init; }
    /// <summary>The tokenizer whose ids the model reads.</summary>
    public required ITokenizer Tokenizer { get; init; }
    /// <summary>The chat template the source (or adapter) declares; null when it declares none.</summary>
    public ChatTemplate? Template { get; init; }
    /// <summary>The adapter applied, if any.</summary>
    public PeftMethod? Adapter { get; init; }
    /// <summary>Where the weights came from.</summary>
    public required ModelLocation Location { get; init; }
    /// <summary>The device the model is on.</summary>
    public required Device Device { get; init; }

    /// <summary>The declared template, or ChatML when the source declares none.</summary>
    public ChatTemplate ChatTemplate => Template ?? ChatTemplate.Default;

    /// <summary>The model as a decoder-only Transformer, for what only those support (adapters, chat, export).</summary>
    /// <exception cref="InvalidInputException">The model is recurrent, n-gram or encoder-decoder; <paramref name="purpose"/> says what needed it.</exception>
    public Gpt Decoder(string purpose) => Model is Gpt gpt
        ? gpt
        : throw InvalidInputException.ForFile(Location.Path, $"{purpose} needs a decoder-only Transformer, not a {Model.Config.Type} {Model.Config.Architecture}");

    /// <summary>Loads <paramref name="spec"/> onto <paramref name="device"/> (CPU by default) in <paramref name="dtype"/>, with <paramref name="adapter"/> applied when given.</summary>
    /// <exception cref="InvalidInputException">Any file is missing, malformed or inconsistent with the others; the message names it.</exception>
    public static ModelBundle Load(string spec, Device? device = null, string? adapter = null, ScalarType dtype = ScalarType.Float32)
    {
        device ??= CPU;
        var location = ModelLocation.Parse(spec);
        LanguageModel model;
        ITokenizer tokenizer;
        ChatTemplate? template = null;
        switch (location.Format)
        {
            case ModelFormat.SharpLM:
                (model, _) = Checkpoint.LoadModel(location.Path, device);
                if (dtype != ScalarType.Float32) model.to(dtype);
                tokenizer = TokenizerFactory.Load(location.Path);
                template = DeclaredTemplate(location.Path);
                break;
            case ModelFormat.HuggingFace:
                model = HfCheckpoint.Load(location.Path, dtype);
                model.to(device);
                tokenizer = File.Exists(TokenizerFile.PathIn(location.Path))
                    ? TokenizerFactory.Load(location.Path)
                    : throw InvalidInputException.ForFile(TokenizerFile.PathIn(location.Path), "missing: a Hugging Face folder needs its tokenizer.json to be used");
                // The model's own Jinja template, as transformers' apply_chat_template uses it; else one SharpLM saved.
                string config = Path.Combine(location.Path, "tokenizer_config.json");
                template = File.Exists(config) && HasChatTemplate(config) ? ChatTemplate.FromHuggingFace(HfChatTemplate.Load(config)) : DeclaredTemplate(location.Path);
                break;
            default:
                (Gpt gguf, tokenizer, var chat) = GgufCheckpoint.Load(location.Path, dtype);
                model = gguf;
                model.to(device);
                if (chat is { } c)
                    template = ChatTemplate.FromHuggingFace(new HfChatTemplate(c.Jinja, $"{location.Path}: tokenizer.chat_template", new Dictionary<string, string> { ["eos_token"] = c.EndOfTurn }));
                break;
        }
        PeftMethod? method = null;
        if (adapter is not null)
        {
            if (model is not Gpt gpt) throw InvalidInputException.ForFile(location.Path, $"adapters apply to decoder-only Transformers, not a {model.Config.Type} {model.Config.Architecture}");
            if (Quantization.Of(gpt) is { } q) throw InvalidInputException.ForFile(location.Path, $"holds quantised weights ({q}); an adapter applies to the float model (merge it there, then quantise)");
            method = PeftMethod.Load(adapter, gpt, location.ToString());
            // SFT saves the tokenizer and template it trained with beside the adapter (chat tokens included).
            if (File.Exists(TokenizerFile.PathIn(adapter))) tokenizer = TokenizerFactory.Load(adapter);
            template = DeclaredTemplate(adapter) ?? template;
        }
        // Hugging Face vocabularies are often padded past the tokenizer (Qwen2: 151,936 rows for 151,646 tokens); a
        // tokenizer with more ids than the model has rows would index past the embedding.
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw InvalidInputException.ForFile(adapter ?? location.Path, $"the tokenizer has {tokenizer.VocabSize} tokens but the model only {model.Config.VocabSize} embedding rows");
        model.eval();
        return new ModelBundle { Model = model, Tokenizer = tokenizer, Template = template, Adapter = method, Location = location, Device = device };
    }

    /// <summary>
    /// This bundle's model with the LoRA adapters in <paramref name="dirs"/> attached side by side
    /// (<see cref="LoraSet.Attach"/>: a row of a batch uses one of them, or none), for serving several fine-tunes of one
    /// base. Adapters that SFT saved with a tokenizer must all have the same one, which the returned bundle then uses
    /// (it is the base's plus the chat tokens); each adapter's chat template is returned in order, the base's where an
    /// adapter declares none.
    /// </summary>
    /// <exception cref="InvalidInputException">An adapter does not fit this base, is not LoRA, or brings a different tokenizer; the message names it.</exception>
    public (ModelBundle Bundle, LoraSet Adapters, IReadOnlyList<ChatTemplate?> Templates) WithLoras(IReadOnlyList<string> dirs)
    {
        if (Adapter is not null) throw new InvalidInputException($"an adapter is already applied ({Adapter.Method}); serve several LoRA adapters over the plain base");
        var gpt = Decoder("serving LoRA adapters");
        if (Quantization.Of(gpt) is { } q) throw InvalidInputException.ForFile(Location.Path, $"holds quantised weights ({q}); LoRA adapters apply to the float model");
        var tokenizer = Tokenizer;
        string? tokenizerDir = null;
        foreach (string dir in dirs.Where(d => File.Exists(TokenizerFile.PathIn(d))))
        {
            if (tokenizerDir is null)
            {
                tokenizerDir = dir;
                tokenizer = TokenizerFactory.Load(dir);
            }
            else if (!File.ReadAllBytes(TokenizerFile.PathIn(dir)).AsSpan().SequenceEqual(File.ReadAllBytes(TokenizerFile.PathIn(tokenizerDir))))
                throw InvalidInputException.ForFile(TokenizerFile.PathIn(dir), $"differs from {TokenizerFile.PathIn(tokenizerDir)}: adapters served over one base must share a tokenizer");
        }
        if (tokenizer.VocabSize > gpt.Config.VocabSize)
            throw InvalidInputException.ForFile(TokenizerFile.PathIn(tokenizerDir!), $"the tokenizer has {tokenizer.VocabSize} tokens but the model only {gpt.Config.VocabSize} embedding rows");
        var set = LoraSet.Attach(gpt, dirs, Location.ToString());
        var templates = dirs.Select(d => DeclaredTemplate(d) ?? Template).ToList();
        return (new ModelBundle { Model = gpt, Tokenizer = tokenizer, Template = Template, Location = Location, Device = Device }, set, templates);
    }

    static ChatTemplate? DeclaredTemplate(string dir) => File.Exists(ChatTemplate.PathIn(dir)) ? ChatTemplate.Load(dir) : null;

    static bool HasChatTemplate(string tokenizerConfig)
    {
        using var doc = Runtime.Json.ReadDocument(tokenizerConfig);
        return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && doc.RootElement.TryGetProperty("chat_template", out var t)
            && t.ValueKind != System.Text.Json.JsonValueKind.Null;
    }

    /// <summary>
    /// Writes the model (without an adapter: merge it first) with its tokenizer and template to <paramref name="destination"/>:
    /// a SharpLM run directory, a Hugging Face folder (as <paramref name="family"/>, or the family that fits) or a GGUF
    /// file, with weights in <paramref name="dtype"/>. Returns a line saying what was written.
    /// </summary>
    /// <exception cref="InvalidInputException">The destination format cannot describe the model or its tokenizer; the message says why.</exception>
    public string Save(ModelLocation destination, ScalarType dtype = ScalarType.Float32, string? family = null)
    {
        if (Adapter is not null) throw new InvalidInputException("a model with an adapter applied is saved by merging the adapter first (sharplm lora merge)");
        if (destination.Format != ModelFormat.SharpLM && Quantization.Of(Model) is { } q)
            throw new InvalidInputException($"the model holds quantised weights ({q}), which only a SharpLM run directory stores; convert the float model");
        switch (destination.Format)
        {
            case ModelFormat.HuggingFace:
            {
                var written = HfCheckpoint.Save(Decoder("Hugging Face export"), destination.Path, family, dtype);
                Tokenizer.Save(destination.Path);
                Template?.Save(destination.Path);
                WriteTokenizerConfig(destination.Path);
                return $"wrote a Hugging Face {written.ModelType} folder to {destination.Path}";
            }
            case ModelFormat.Gguf:
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination.Path))!);
                string arch = GgufCheckpoint.Save(Decoder("GGUF export"), Tokenizer, destination.Path, dtype, Template is { } t ? (t.AsJinja(), t.EndOfTurn) : null);
                return $"wrote a GGUF file ({arch} architecture) to {destination.Path}";
            }
            default:
            {
                if (Checkpoint.Exists(destination.Path)) throw InvalidInputException.ForFile(destination.Path, "already holds a checkpoint; choose another destination");
                if (dtype != ScalarType.Float32) throw new InvalidInputException("--dtype: SharpLM run directories hold float32 weights");
                Directory.CreateDirectory(destination.Path);
                // SharpLM's checkpoints are float32 (or quantised, Checkpoint.Save writes either); a model loaded in bf16
                // is widened (in place: saving is its last use).
                if (Model.parameters().Any(p => p.dtype != ScalarType.Float32)) Model.to(ScalarType.Float32);
                Checkpoint.Save(destination.Path, Model, null, new CheckpointManifest { Step = 0, Model = Model.Config, ModelFile = "", ModelSha256 = "" });
                Tokenizer.Save(destination.Path);
                Template?.Save(destination.Path);
                return $"wrote a SharpLM run directory to {destination.Path}";
            }
        }
    }

    /// <summary>
    /// tokenizer_config.json as transformers reads it: the chat template as Jinja (so apply_chat_template renders what
    /// SharpLM trained on) and the special tokens it names.
    /// </summary>
    void WriteTokenizerConfig(string dir)
    {
        var config = new System.Text.Json.Nodes.JsonObject { ["tokenizer_class"] = "PreTrainedTokenizerFast", ["model_max_length"] = Model.Config.BlockSize };
        if (Tokenizer.EndOfTextId is int eot)
        {
            config["bos_token"] = Tokenizer.Decode([eot]);
            config["eos_token"] = Tokenizer.Decode([eot]);
        }
        if (Template is { } t)
        {
            config["chat_template"] = t.AsJinja();
            config["eos_token"] = t.EndOfTurn;
            // A model's own template renders its own special tokens ({{ bos_token }}): they go back as they came.
            if (t.Jinja is { } jinja) foreach (var (name, token) in jinja.SpecialTokens) config[name] = token;
        }
        IO.AtomicFile.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
