using System.Text.Encodings.Web;
using System.Text.Json;
using SharpLM.IO;

namespace SharpLM.Tokenization;

/// <summary>
/// Reads and writes byte-level BPE tokenizers as Hugging Face <c>tokenizer.json</c> files, the format the
/// <c>tokenizers</c> library (Python, Rust, and wrappers such as Tokenizers.DotNet) loads directly. We write exactly
/// GPT-2's layout — ByteLevel pre-tokenizer, post-processor and decoder around a BPE model — and read that layout
/// back, including GPT-2's own file; anything our encoder would not reproduce (normalizers, prefix spaces, dropout,
/// …) is rejected rather than silently encoded differently.
/// </summary>
public static class HuggingFaceTokenizerJson
{
    /// <summary>Writes <paramref name="tokenizer"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(BpeTokenizer tokenizer, string path)
    {
        // Relaxed escaping keeps symbols like 'Ġ' readable instead of \u0120; the file is still valid JSON.
        var options = new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream, options);
            Write(json, tokenizer);
        });
    }

    /// <summary>Reads a byte-level BPE <c>tokenizer.json</c>.</summary>
    /// <exception cref="InvalidInputException">The file is missing, not JSON, malformed or uses unsupported options.</exception>
    public static BpeTokenizer Load(string path)
    {
        using JsonDocument document = TokenizerFile.ReadJson(path);
        return FromJson(path, document.RootElement);
    }

    static void Write(Utf8JsonWriter json, BpeTokenizer tokenizer)
    {
        json.WriteStartObject();
        json.WriteString("version", "1.0");
        json.WriteNull("truncation");
        json.WriteNull("padding");

        json.WriteStartArray("added_tokens");
        foreach (string special in tokenizer.SpecialTokens)
        {
            json.WriteStartObject();
            tokenizer.TryGetId(special, out int id);
            json.WriteNumber("id", id);
            json.WriteString("content", special);
            json.WriteBoolean("single_word", false);
            json.WriteBoolean("lstrip", false);
            json.WriteBoolean("rstrip", false);
            json.WriteBoolean("normalized", false);
            json.WriteBoolean("special", true);
            json.WriteEndObject();
        }
        json.WriteEndArray();

        json.WriteNull("normalizer");
        WriteByteLevel(json, "pre_tokenizer");
        WriteByteLevel(json, "post_processor");
        WriteByteLevel(json, "decoder");

        json.WriteStartObject("model");
        json.WriteString("type", "BPE");
        json.WriteNull("dropout");
        json.WriteNull("unk_token");
        json.WriteNull("continuing_subword_prefix");
        json.WriteNull("end_of_word_suffix");
        json.WriteBoolean("fuse_unk", false);
        json.WriteBoolean("byte_fallback", false);
        json.WriteBoolean("ignore_merges", false);
        json.WriteStartObject("vocab");
        for (int id = 0; id < tokenizer.Vocab.Count; id++) json.WriteNumber(tokenizer.Vocab[id], id);
        json.WriteEndObject();
        // "left right" strings: accepted by every tokenizers release. Byte-level symbols never contain a space
        // (the space byte is 'Ġ'), so the split is unambiguous.
        json.WriteStartArray("merges");
        foreach (var (left, right) in tokenizer.Merges) json.WriteStringValue($"{left} {right}");
        json.WriteEndArray();
        json.WriteEndObject();

        json.WriteEndObject();
    }

    static void WriteByteLevel(Utf8JsonWriter json, string name)
    {
        json.WriteStartObject(name);
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", false);
        json.WriteBoolean("trim_offsets", true);
        json.WriteBoolean("use_regex", true);
        json.WriteEndObject();
    }

    /// <summary>Builds the tokenizer from a parsed file; <paramref name="path"/> is only for error messages.</summary>
    internal static BpeTokenizer FromJson(string path, JsonElement root)
    {
        InvalidInputException Invalid(string problem) => InvalidInputException.ForFile(path, problem);

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out JsonElement model)
            || TokenizerFile.GetString(model, "type") != "BPE")
            throw Invalid("not a Hugging Face BPE tokenizer (expected \"model\": {\"type\": \"BPE\", …})");
        CheckSupported(root, model, Invalid);

        var tokenOfId = new SortedDictionary<int, string>();
        var idOfToken = new Dictionary<string, int>(StringComparer.Ordinal);
        void AddToken(string token, int id, string where)
        {
            if (idOfToken.TryGetValue(token, out int known))
            {
                if (known != id) throw Invalid($"{where}: token '{HuggingFace.HfJson.Show(token)}' has id {id} but already has id {known}");
                return;
            }
            if (!tokenOfId.TryAdd(id, token)) throw Invalid($"{where}: id {id} is used by both '{HuggingFace.HfJson.Show(tokenOfId[id])}' and '{HuggingFace.HfJson.Show(token)}'");
            idOfToken[token] = id;
        }

        if (!model.TryGetProperty("vocab", out JsonElement vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw Invalid("model.vocab must be an object of token → id");
        foreach (JsonProperty entry in vocab.EnumerateObject())
        {
            if (!entry.Value.TryGetInt32(out int id) || id < 0) throw Invalid($"model.vocab: id of '{HuggingFace.HfJson.Show(entry.Name)}' is not a non-negative integer");
            AddToken(entry.Name, id, "model.vocab");
        }

        // Hugging Face splits every added token out of the text before the model sees it, special or not.
        var specials = new List<string>();
        if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind != JsonValueKind.Null)
        {
            if (added.ValueKind != JsonValueKind.Array) throw Invalid("added_tokens must be an array");
            foreach (JsonElement token in added.EnumerateArray())
            {
                string? content = TokenizerFile.GetString(token, "content");
                if (content is null || !token.TryGetProperty("id", out JsonElement idElement) || !idElement.TryGetInt32(out int id) || id < 0)
                    throw Invalid("added_tokens: each entry needs a string \"content\" and a non-negative integer \"id\"");
                foreach (string option in new[] { "single_word", "lstrip", "rstrip" })
                    if (token.TryGetProperty(option, out JsonElement flag) && flag.ValueKind == JsonValueKind.True)
                        throw Invalid($"added_tokens: '{HuggingFace.HfJson.Show(content)}' sets {option}, which is not supported");
                AddToken(content, id, "added_tokens");
                specials.Add(content);
            }
        }

        int expected = 0;
        foreach (int id in tokenOfId.Keys)
            if (id != expected++) throw Invalid($"token ids must run 0…N-1 without gaps, but no token has id {expected - 1}");

        try
        {
            return new BpeTokenizer(tokenOfId.Values.ToArray(), ReadMerges(model, Invalid), specials);
        }
        catch (ArgumentException e)
        {
            throw InvalidInputException.ForFile(path, e.Message, e);
        }
    }

    /// <summary>
    /// Whether <paramref name="root"/> is exactly the layout <see cref="BpeTokenizer"/> reproduces (GPT-2's, as
    /// <see cref="Save"/> writes it): byte-level pre-tokenizer with GPT-2's regex and no prefix space, plain BPE,
    /// ByteLevel (or no) post-processor, ByteLevel decoder, added tokens without strip or word flags. Such files keep
    /// loading as <see cref="BpeTokenizer"/>; others go to <see cref="HuggingFace.HuggingFaceTokenizer"/>.
    /// </summary>
    internal static bool IsGpt2Layout(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out JsonElement model)
            || TokenizerFile.GetString(model, "type") != "BPE") return false;
        InvalidInputException Ignore(string _) => new("");
        try { CheckSupported(root, model, Ignore); }
        catch (InvalidInputException) { return false; }
        if (IsSet(model, "unk_token") || IsTrue(model, "fuse_unk") || IsSet(root, "truncation") || IsSet(root, "padding")) return false;
        root.TryGetProperty("post_processor", out JsonElement post);
        root.TryGetProperty("decoder", out JsonElement decoder);
        if (IsSet(root, "post_processor") && TokenizerFile.GetString(post, "type") != "ByteLevel") return false;
        if (TokenizerFile.GetString(decoder, "type") != "ByteLevel") return false;
        if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
            foreach (JsonElement token in added.EnumerateArray())
                foreach (string option in new[] { "single_word", "lstrip", "rstrip" })
                    if (IsTrue(token, option)) return false;
        return true;
    }

    // Our encoder implements GPT-2's pipeline only; refuse options that would make it disagree with Hugging Face.
    static void CheckSupported(JsonElement root, JsonElement model, Func<string, InvalidInputException> invalid)
    {
        if (IsSet(root, "normalizer")) throw invalid("normalizers are not supported (expected \"normalizer\": null)");

        root.TryGetProperty("pre_tokenizer", out JsonElement pre);
        // Hugging Face defaults add_prefix_space to true, so it must be written out as false.
        bool gpt2PreTokenizer = TokenizerFile.GetString(pre, "type") == "ByteLevel"
            && pre.TryGetProperty("add_prefix_space", out JsonElement prefix) && prefix.ValueKind == JsonValueKind.False
            && !(pre.TryGetProperty("use_regex", out JsonElement regex) && regex.ValueKind == JsonValueKind.False);
        if (!gpt2PreTokenizer)
            throw invalid("only GPT-2's pre-tokenizer is supported: {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}");

        bool plainBpe = !IsSet(model, "dropout")
            && string.IsNullOrEmpty(TokenizerFile.GetString(model, "continuing_subword_prefix"))
            && string.IsNullOrEmpty(TokenizerFile.GetString(model, "end_of_word_suffix"))
            && !IsTrue(model, "byte_fallback")
            && !IsTrue(model, "ignore_merges");
        if (!plainBpe)
            throw invalid("unsupported BPE options: dropout, continuing_subword_prefix, end_of_word_suffix, byte_fallback and ignore_merges must be off");
    }

    static bool IsSet(JsonElement obj, string name) => obj.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null;

    static bool IsTrue(JsonElement obj, string name) => obj.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.True;

    // Merges come as "left right" strings (all releases) or ["left", "right"] pairs (tokenizers ≥ 0.20).
    static List<(string Left, string Right)> ReadMerges(JsonElement model, Func<string, InvalidInputException> invalid)
    {
        if (!model.TryGetProperty("merges", out JsonElement merges) || merges.ValueKind != JsonValueKind.Array)
            throw invalid("model.merges must be an array");
        var result = new List<(string, string)>(merges.GetArrayLength());
        foreach (JsonElement merge in merges.EnumerateArray())
        {
            string[]? parts = merge.ValueKind switch
            {
                JsonValueKind.String => merge.GetString()!.Split(' '),
                JsonValueKind.Array when merge.EnumerateArray().All(p => p.ValueKind == JsonValueKind.String) =>
                    merge.EnumerateArray().Select(p => p.GetString()!).ToArray(),
                _ => null,
            };
            if (parts is not [var left, var right]) throw invalid($"model.merges[{result.Count}] is not a pair of tokens");
            result.Add((left, right));
        }
        return result;
    }
}
