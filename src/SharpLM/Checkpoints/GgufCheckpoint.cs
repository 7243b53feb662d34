using System.Text;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Checkpoints;

/// <summary>
/// SharpLM models as GGUF files that llama.cpp (and Ollama, LLamaSharp) run, written as llama.cpp's
/// <c>convert_hf_to_gguf.py</c> writes them: its architecture names ("gpt2", "llama"), metadata keys, tensor names,
/// norms and biases in F32, Llama's q/k rows permuted from the rotate-half layout to llama.cpp's interleaved pairs,
/// Llama 3.1's rope_scaling as a rope_freqs tensor. The tokenizer goes in as llama.cpp's byte-level BPE ("gpt2"
/// tokenizer model): a character vocabulary as the byte-level symbols of each character, with the merges that build
/// multi-byte characters, so llama.cpp's tokenizer gives the same ids. SharpLM's own tokenizer file is stored too
/// (<see cref="TokenizerKey"/>), so a file SharpLM wrote loads back with its exact tokenizer.
/// </summary>
public static class GgufCheckpoint
{
    /// <summary>Metadata key holding SharpLM's tokenizer.json, so <see cref="Load"/> restores the exact tokenizer.</summary>
    public const string TokenizerKey = "sharplm.tokenizer_json";

    // llama.cpp's token types (llama_token_type).
    const long Normal = 1, Control = 3, Unused = 5;

    /// <summary>
    /// The llama.cpp architecture a model is written as: "gpt2" for GPT-2-shaped models (tanh GELU, as ggml's gelu),
    /// "llama" for Llama-shaped ones; why not, by field, otherwise.
    /// </summary>
    public static string? Unsupported(ModelConfig c, out string architecture)
    {
        architecture = "";
        var gpt2 = HfModelFamily.Registry["gpt2"].Unsupported(c) ?? (c.Activation != "gelu_tanh" ? $"activation '{c.Activation}' (llama.cpp's gpt2 uses the tanh GELU, gelu_tanh)" : null);
        if (gpt2 is null) { architecture = "gpt2"; return null; }
        var llama = HfModelFamily.Registry["llama"].Unsupported(c);
        if (llama is null) { architecture = "llama"; return null; }
        return $"gpt2: {gpt2}; llama: {llama}";
    }

    /// <summary>
    /// Writes <paramref name="model"/> and <paramref name="tokenizer"/> to <paramref name="path"/> with matrices in
    /// <paramref name="dtype"/> (F32, F16 or BF16; 1-D tensors stay F32 as llama.cpp requires). Returns the architecture.
    /// </summary>
    /// <exception cref="InvalidInputException">No llama.cpp architecture fits the model, or the tokenizer cannot be described.</exception>
    /// <param name="model">The model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="path">The file to write.</param>
    /// <param name="dtype">Type of the matrices.</param>
    /// <param name="chatTemplate">A Jinja chat template and the token that ends a turn (llama.cpp's eos, where generation stops), or null.</param>
    /// <param name="name">general.name.</param>
    public static string Save(Gpt model, ITokenizer tokenizer, string path, ScalarType dtype = ScalarType.Float32, (string Jinja, string EndOfTurn)? chatTemplate = null, string name = "sharplm")
    {
        var c = model.Config;
        if (Unsupported(c, out string arch) is string why) throw new InvalidInputException($"{path}: cannot write GGUF: {why}");
        if (dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16)) throw new InvalidInputException($"{path}: GGUF export writes f32, f16 or bf16, not {dtype}");
        if (tokenizer.VocabSize > c.VocabSize) throw new InvalidInputException($"{path}: the tokenizer has {tokenizer.VocabSize} tokens but the model only {c.VocabSize}");
        using var scope = NewDisposeScope();
        var p = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach());
        var tensors = new List<(string, Tensor)>();
        void Add(string n, Tensor t) => tensors.Add((n, (t.dim() == 1 ? t.to(ScalarType.Float32) : t.to(dtype)).contiguous()));
        var meta = new List<KeyValuePair<string, GgufValue>>
        {
            new("general.architecture", GgufValue.Str(arch)),
            new("general.name", GgufValue.Str(name)),
            new("general.file_type", GgufValue.U32(dtype switch { ScalarType.Float16 => 1, ScalarType.BFloat16 => 32, _ => 0 })),
            new($"{arch}.context_length", GgufValue.U32(c.BlockSize)),
            new($"{arch}.embedding_length", GgufValue.U32(c.NEmbd)),
            new($"{arch}.feed_forward_length", GgufValue.U32(FeedForward.HiddenSize(c))),
            new($"{arch}.block_count", GgufValue.U32(c.NLayer)),
            new($"{arch}.attention.head_count", GgufValue.U32(c.NHead)),
        };
        if (arch == "gpt2")
        {
            meta.Add(new("gpt2.attention.layer_norm_epsilon", GgufValue.F32(c.NormEps)));
            Add("token_embd.weight", p["wte.weight"]);
            Add("position_embd.weight", p["wpe.weight"]);
            for (int i = 0; i < c.NLayer; i++)
                foreach (var (ours, theirs) in Gpt2Blocks)
                    foreach (string kind in new[] { "weight", "bias" }) Add($"blk.{i}.{theirs}.{kind}", p[$"h.{i}.{ours}.{kind}"]);
            Add("output_norm.weight", p["ln_f.weight"]);
            Add("output_norm.bias", p["ln_f.bias"]);
            Add("output.weight", c.TieEmbeddings ? p["wte.weight"] : p["lm_head.weight"]);
        }
        else
        {
            meta.Add(new("llama.attention.head_count_kv", GgufValue.U32(c.KvHeads)));
            meta.Add(new("llama.attention.layer_norm_rms_epsilon", GgufValue.F32(c.NormEps)));
            meta.Add(new("llama.rope.freq_base", GgufValue.F32(c.RopeBase)));
            meta.Add(new("llama.rope.dimension_count", GgufValue.U32(c.HeadDim)));
            meta.Add(new("llama.vocab_size", GgufValue.U32(c.VocabSize)));
            if (c.RopeScaling is { Type: "linear" } linear)
            {
                meta.Add(new("llama.rope.scaling.type", GgufValue.Str("linear")));
                meta.Add(new("llama.rope.scaling.factor", GgufValue.F32(linear.Factor)));
            }
            else if (c.RopeScaling is { Type: "llama3" } llama3)
            {
                // llama.cpp divides each pair's angle by its factor: the plain frequency over the scaled one.
                double[] plain = RotaryEmbedding.InverseFrequencies(c with { RopeScaling = null }), scaled = RotaryEmbedding.InverseFrequencies(c);
                Add("rope_freqs.weight", tensor(plain.Zip(scaled, (f, s) => (float)(f / s)).ToArray()));
            }
            Add("token_embd.weight", p["wte.weight"]);
            long q = c.NHead * c.HeadDim, kv = c.KvHeads * c.HeadDim;
            for (int i = 0; i < c.NLayer; i++)
            {
                var parts = p[$"h.{i}.attn.c_attn.weight"].split(new[] { q, kv, kv }, 0);
                Add($"blk.{i}.attn_norm.weight", p[$"h.{i}.ln_1.weight"]);
                Add($"blk.{i}.attn_q.weight", Interleave(parts[0], c.NHead));
                Add($"blk.{i}.attn_k.weight", Interleave(parts[1], c.KvHeads));
                Add($"blk.{i}.attn_v.weight", parts[2]);
                Add($"blk.{i}.attn_output.weight", p[$"h.{i}.attn.c_proj.weight"]);
                Add($"blk.{i}.ffn_norm.weight", p[$"h.{i}.ln_2.weight"]);
                Add($"blk.{i}.ffn_gate.weight", p[$"h.{i}.mlp.c_gate.weight"]);
                Add($"blk.{i}.ffn_up.weight", p[$"h.{i}.mlp.c_fc.weight"]);
                Add($"blk.{i}.ffn_down.weight", p[$"h.{i}.mlp.c_proj.weight"]);
            }
            Add("output_norm.weight", p["ln_f.weight"]);
            if (!c.TieEmbeddings) Add("output.weight", p["lm_head.weight"]);
        }
        meta.AddRange(TokenizerMetadata(tokenizer, c.VocabSize, path, chatTemplate));
        GgufFile.Write(path, meta, tensors);
        return arch;
    }

    /// <summary>SharpLM's block submodules and llama.cpp's names for them in a gpt2 file.</summary>
    static readonly (string Ours, string Theirs)[] Gpt2Blocks =
    [
        ("ln_1", "attn_norm"), ("attn.c_attn", "attn_qkv"), ("attn.c_proj", "attn_output"), ("ln_2", "ffn_norm"), ("mlp.c_fc", "ffn_up"), ("mlp.c_proj", "ffn_down"),
    ];

    /// <summary>
    /// Rows of a q or k projection reordered from rotate-half pairs (i, i + D/2) to llama.cpp's adjacent pairs
    /// (2i, 2i + 1), per head: <c>convert_hf_to_gguf.py</c>'s <c>permute</c>.
    /// </summary>
    static Tensor Interleave(Tensor w, int heads) =>
        w.reshape(heads, 2, w.shape[0] / heads / 2, w.shape[1]).transpose(1, 2).reshape(w.shape);

    /// <summary>The inverse of <see cref="Interleave"/>.</summary>
    static Tensor RotateHalf(Tensor w, int heads) =>
        w.reshape(heads, w.shape[0] / heads / 2, 2, w.shape[1]).transpose(1, 2).reshape(w.shape);

    /// <summary>llama.cpp's tokenizer metadata for <paramref name="tokenizer"/>, padded with unused tokens to the model's vocabulary.</summary>
    static IEnumerable<KeyValuePair<string, GgufValue>> TokenizerMetadata(ITokenizer tokenizer, int vocabSize, string path, (string Jinja, string EndOfTurn)? chatTemplate)
    {
        var tokens = new List<string>();
        var types = new List<long>();
        var merges = new List<string>();
        ITokenizer core = tokenizer is AddedTokensTokenizer added ? added.Base : tokenizer;
        switch (core)
        {
            case BpeTokenizer bpe:
                var specials = bpe.SpecialTokens.ToHashSet(StringComparer.Ordinal);
                tokens.AddRange(bpe.Vocab);
                types.AddRange(bpe.Vocab.Select(t => specials.Contains(t) ? Control : Normal));
                merges.AddRange(bpe.Merges.Select(m => $"{m.Left} {m.Right}"));
                break;
            case CharTokenizer chars:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                var utf8 = new byte[4];
                foreach (Rune rune in chars.Vocabulary)
                {
                    int n = rune.EncodeToUtf8(utf8);
                    tokens.Add(ByteLevelAlphabet.ToSymbols(utf8.AsSpan(0, n)));
                    types.Add(Normal);
                    // Merges that rebuild a multi-byte character from its bytes, left to right.
                    for (int k = 2; k <= n; k++)
                    {
                        string merge = $"{ByteLevelAlphabet.ToSymbols(utf8.AsSpan(0, k - 1))} {ByteLevelAlphabet.ToSymbols(utf8.AsSpan(k - 1, 1))}";
                        if (seen.Add(merge)) merges.Add(merge);
                    }
                }
                break;
            default:
                throw new InvalidInputException($"{path}: cannot write a '{core.Kind}' tokenizer to GGUF (supported: char, bpe)");
        }
        if (tokenizer is AddedTokensTokenizer withAdded)
            foreach (var (text, id) in withAdded.AddedTokens.Zip(withAdded.AddedTokenIds))
            {
                if (id != tokens.Count) throw new InvalidInputException($"{path}: added token '{text}' has id {id}, not the next id {tokens.Count}");
                tokens.Add(text);
                types.Add(Control);
            }
        while (tokens.Count < vocabSize)
        {
            tokens.Add($"[PAD{tokens.Count}]");
            types.Add(Unused);
        }
        string tokenizerJson = SavedTokenizer(tokenizer);
        yield return new("tokenizer.ggml.model", GgufValue.Str("gpt2"));
        yield return new("tokenizer.ggml.pre", GgufValue.Str("gpt-2"));
        yield return new("tokenizer.ggml.tokens", GgufValue.Strings(tokens.ToArray()));
        yield return new("tokenizer.ggml.token_type", GgufValue.Int32s(types.ToArray()));
        yield return new("tokenizer.ggml.merges", GgufValue.Strings(merges.ToArray()));
        yield return new("tokenizer.ggml.add_bos_token", GgufValue.Boolean(false));
        // A chat model's turn ends at its end-of-turn token: llama.cpp stops generating at eos.
        int? endOfTurn = chatTemplate is { } t ? tokenizer.IdOf(t.EndOfTurn) : null;
        if (chatTemplate is { } template)
        {
            if (endOfTurn is null) throw new InvalidInputException($"{path}: the chat template ends turns with {template.EndOfTurn}, which the tokenizer has no id for");
            yield return new("tokenizer.chat_template", GgufValue.Str(template.Jinja));
        }
        if ((endOfTurn ?? tokenizer.EndOfTextId) is int eos) yield return new("tokenizer.ggml.eos_token_id", GgufValue.U32(eos));
        if (tokenizer.EndOfTextId is int bos) yield return new("tokenizer.ggml.bos_token_id", GgufValue.U32(bos));
        yield return new(TokenizerKey, GgufValue.Str(tokenizerJson));
    }

    static string SavedTokenizer(ITokenizer tokenizer)
    {
        string dir = Directory.CreateTempSubdirectory("sharplm-gguf-").FullName;
        try
        {
            tokenizer.Save(dir);
            return File.ReadAllText(TokenizerFile.PathIn(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Loads a GGUF file of the gpt2 or llama architecture (F32, F16 or BF16 tensors) as a <see cref="Gpt"/> in
    /// <paramref name="dtype"/>, with its tokenizer: SharpLM's own when the file carries it, else the byte-level BPE of
    /// its tokenizer.ggml metadata.
    /// </summary>
    /// <exception cref="InvalidInputException">The file fails a check, its architecture or a tensor type is unsupported, or a tensor does not fit the metadata.</exception>
    public static (Gpt Model, ITokenizer Tokenizer, (string Jinja, string EndOfTurn)? ChatTemplate) Load(string path, ScalarType dtype = ScalarType.Float32)
    {
        using var file = GgufFile.Open(path);
        string arch = file.Get<string>("general.architecture") ?? throw InvalidInputException.ForFile(path, "metadata 'general.architecture' is missing");
        if (arch is not ("gpt2" or "llama")) throw InvalidInputException.ForFile(path, $"architecture '{arch}' is not supported (supported: gpt2, llama)");
        if (file.Unreadable() is string quantised) throw InvalidInputException.ForFile(path, quantised);
        int U(string key, int? fallback = null)
        {
            double v = file.Number($"{arch}.{key}", fallback);
            return v >= 0 && v <= int.MaxValue && v == Math.Floor(v) ? (int)v : throw InvalidInputException.ForFile(path, $"metadata '{arch}.{key}' must be a non-negative integer, not {v}");
        }
        var tokens = file.Get<string[]>("tokenizer.ggml.tokens") ?? throw InvalidInputException.ForFile(path, "metadata 'tokenizer.ggml.tokens' is missing");
        bool tied = !file.Contains("output.weight") || arch == "gpt2" && SameTensor(file, "output.weight", "token_embd.weight");
        var config = new ModelConfig
        {
            VocabSize = tokens.Length, BlockSize = U("context_length"), NEmbd = U("embedding_length"), NLayer = U("block_count"),
            NHead = U("attention.head_count"), MlpHidden = U("feed_forward_length"), TieEmbeddings = tied, Dropout = 0,
        };
        config = arch == "gpt2"
            ? config with { Activation = "gelu_tanh", NormEps = file.Number("gpt2.attention.layer_norm_epsilon", 1e-5) }
            : config with
            {
                NKvHead = U("attention.head_count_kv", config.NHead), Norm = "rmsnorm", Activation = "swiglu", PositionEncoding = "rope", Bias = false,
                NormEps = file.Number("llama.attention.layer_norm_rms_epsilon", 1e-5), RopeBase = file.Number("llama.rope.freq_base", 10000),
                RopeScaling = file.Get<string>("llama.rope.scaling.type") switch
                {
                    null or "none" => null,
                    "linear" => new RopeScaling { Type = "linear", Factor = file.Number("llama.rope.scaling.factor") },
                    var other => throw InvalidInputException.ForFile(path, $"llama.rope.scaling.type '{other}' is not supported (supported: none, linear)"),
                },
            };
        config = config.Validate(path);
        if (arch == "llama" && file.Contains("rope_freqs.weight"))
            throw InvalidInputException.ForFile(path, "rope_freqs.weight (Llama 3.1's rope scaling) cannot be read back into rope_scaling; convert from the Hugging Face folder instead");
        if (arch == "llama" && U("rope.dimension_count", config.HeadDim) != config.HeadDim)
            throw InvalidInputException.ForFile(path, $"llama.rope.dimension_count {U("rope.dimension_count")} must equal the head size {config.HeadDim}");

        IO.DeclaredSizes.RequireRoom(path, "the metadata's model", config.MinimumParameters(), new FileInfo(path).Length, "the file");
        var model = new Gpt(config, initialize: false); // every weight is read below
        var parameters = model.state_dict();
        var used = new HashSet<string>(StringComparer.Ordinal);
        Tensor Take(string theirs, long[] shape)
        {
            var entry = file.Contains(theirs) ? file[theirs] : throw InvalidInputException.ForFile(path, $"tensor '{theirs}' is missing");
            if (!entry.Shape.SequenceEqual(shape)) throw InvalidInputException.ForFile(path, $"tensor '{theirs}' has shape [{string.Join(", ", entry.Shape)}]; the metadata implies [{string.Join(", ", shape)}]");
            used.Add(theirs);
            return file.Read(theirs, ScalarType.Float32);
        }
        var written = new HashSet<string>(StringComparer.Ordinal);
        void Set(string ours, string theirs)
        {
            using var scope = NewDisposeScope(); // one tensor's temporaries at a time
            parameters[ours].copy_(Take(theirs, parameters[ours].shape));
            written.Add(ours);
        }
        try
        {
        using (no_grad())
        {
            Set("wte.weight", "token_embd.weight");
            if (arch == "gpt2")
            {
                Set("wpe.weight", "position_embd.weight");
                for (int i = 0; i < config.NLayer; i++)
                    foreach (var (ours, theirs) in Gpt2Blocks)
                        foreach (string kind in new[] { "weight", "bias" }) Set($"h.{i}.{ours}.{kind}", $"blk.{i}.{theirs}.{kind}");
                Set("ln_f.weight", "output_norm.weight");
                Set("ln_f.bias", "output_norm.bias");
                if (!tied) Set("lm_head.weight", "output.weight"); else used.Add("output.weight");
            }
            else
            {
                long q = config.NHead * config.HeadDim, kv = config.KvHeads * config.HeadDim, c = config.NEmbd;
                for (int i = 0; i < config.NLayer; i++)
                {
                    Set($"h.{i}.ln_1.weight", $"blk.{i}.attn_norm.weight");
                    written.Add($"h.{i}.attn.c_attn.weight");
                    using (var scope = NewDisposeScope())
                    parameters[$"h.{i}.attn.c_attn.weight"].copy_(cat(new[]
                    {
                        RotateHalf(Take($"blk.{i}.attn_q.weight", [q, c]), config.NHead),
                        RotateHalf(Take($"blk.{i}.attn_k.weight", [kv, c]), config.KvHeads),
                        Take($"blk.{i}.attn_v.weight", [kv, c]),
                    }, 0));
                    Set($"h.{i}.attn.c_proj.weight", $"blk.{i}.attn_output.weight");
                    Set($"h.{i}.ln_2.weight", $"blk.{i}.ffn_norm.weight");
                    Set($"h.{i}.mlp.c_gate.weight", $"blk.{i}.ffn_gate.weight");
                    Set($"h.{i}.mlp.c_fc.weight", $"blk.{i}.ffn_up.weight");
                    Set($"h.{i}.mlp.c_proj.weight", $"blk.{i}.ffn_down.weight");
                }
                Set("ln_f.weight", "output_norm.weight");
                if (!tied) Set("lm_head.weight", "output.weight");
            }
        }
        // The model was built without initialisation: every parameter must have been read.
        if (parameters.Keys.FirstOrDefault(k => !written.Contains(k)) is string unread)
            throw new InvalidOperationException($"{arch}: SharpLM's parameter '{unread}' has no GGUF tensor in the mapping");
        if (file.Tensors.FirstOrDefault(t => !used.Contains(t.Name)) is { } extra)
            throw InvalidInputException.ForFile(path, $"tensor '{extra.Name}' is not part of a {arch} model of this metadata");
        }
        catch
        {
            model.Dispose();
            throw;
        }
        if (dtype != ScalarType.Float32) model.to(dtype);
        model.eval();
        (string, string)? chat = null;
        if (file.Get<string>("tokenizer.chat_template") is string jinja)
        {
            double eos = file.Number("tokenizer.ggml.eos_token_id", -1);
            if (eos < 0 || eos >= tokens.Length) throw InvalidInputException.ForFile(path, "tokenizer.chat_template needs tokenizer.ggml.eos_token_id, the token that ends a turn");
            chat = (jinja, tokens[(int)eos]);
        }
        return (model, ReadTokenizer(file, tokens), chat);
    }

    /// <summary>Whether two same-shaped tensors of the file hold equal values (a tied head written out, as convert_hf_to_gguf does).</summary>
    static bool SameTensor(GgufFile file, string a, string b)
    {
        if (!file.Contains(b) || !file[a].Shape.SequenceEqual(file[b].Shape)) return false;
        using var scope = NewDisposeScope();
        return file.Read(a).Equals(file.Read(b));
    }

        static ITokenizer ReadTokenizer(GgufFile file, string[] tokens)
    {
        if (file.Get<string>(TokenizerKey) is string json)
        {
            string dir = Directory.CreateTempSubdirectory("sharplm-gguf-").FullName;
            try
            {
                File.WriteAllText(TokenizerFile.PathIn(dir), json);
                return TokenizerFactory.Load(dir);
            }
            catch (InvalidInputException e)
            {
                throw InvalidInputException.ForFile(file.Path, $"metadata '{TokenizerKey}': {e.Message}");
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        string model = file.Get<string>("tokenizer.ggml.model") ?? "";
        if (model != "gpt2") throw InvalidInputException.ForFile(file.Path, $"tokenizer.ggml.model '{model}' is not supported (supported: gpt2, byte-level BPE)");
        // Llama-3's and Qwen2's files name their pre-tokenizer regex; reading them with GPT-2's would give other ids.
        string pre = file.Get<string>("tokenizer.ggml.pre") ?? "default";
        if (pre is not ("gpt-2" or "default"))
            throw InvalidInputException.ForFile(file.Path, $"tokenizer.ggml.pre '{pre}' is not supported (supported: gpt-2, default); load the model's Hugging Face folder for its tokenizer.json");
        var types = file.Get<long[]>("tokenizer.ggml.token_type") ?? Enumerable.Repeat(Normal, tokens.Length).ToArray();
        var merges = (file.Get<string[]>("tokenizer.ggml.merges") ?? []).Select((m, i) =>
        {
            string[] parts = m.Split(' ');
            return parts.Length == 2 ? (parts[0], parts[1]) : throw InvalidInputException.ForFile(file.Path, $"tokenizer.ggml.merges[{i}] '{m}' is not two tokens");
        }).ToList();
        try
        {
            return new BpeTokenizer(tokens, merges, tokens.Where((t, i) => i < types.Length && types[i] == Control).ToList());
        }
        catch (ArgumentException e)
        {
            throw InvalidInputException.ForFile(file.Path, $"tokenizer metadata: {e.Message}");
        }
    }
}
