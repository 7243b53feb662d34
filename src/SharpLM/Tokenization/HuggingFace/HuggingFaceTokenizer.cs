using System.Text.Json;
using SharpLM.IO;

namespace SharpLM.Tokenization.HuggingFace;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> with a BPE model, encoded as the <c>tokenizers</c> library encodes it:
/// added tokens cut out → normalizer → pre-tokenizer → BPE → post-processor; ids → decoder. This covers the layouts
/// real models ship: byte-level BPE with GPT-2's pre-tokenizer, Llama-3's and Qwen2's (Split regex + ByteLevel,
/// ignore_merges, NFC), and SentencePiece-style BPE (Llama-2, Mistral: "▁" via Prepend/Replace or Metaspace,
/// byte_fallback, unk). Any component or option outside these is refused when the file is read, naming the field,
/// so a file is either encoded exactly as Hugging Face encodes it or not at all.
/// <para><b>Special tokens.</b> <see cref="Encode(string)"/> does not apply the post-processor's template — it is
/// Hugging Face's <c>encode(text, add_special_tokens=False)</c> — because SharpLM encodes rendered prompts and
/// training documents, whose chat templates already write &lt;|begin_of_text|&gt; or &lt;s&gt; themselves (as
/// transformers' apply_chat_template does); adding it again would double it. <see cref="Encode(string, bool)"/>
/// with true is Hugging Face's default <c>encode(text)</c>. Likewise <see cref="Decode(ReadOnlySpan{int})"/>
/// renders special tokens (so chat transcripts survive a round trip) and <see cref="Decode(ReadOnlySpan{int}, bool)"/>
/// can skip them, as Hugging Face's decode(skip_special_tokens=True) does.</para>
/// <para><b>Lone surrogates</b> are encoded as U+FFFD (see <see cref="HfText"/>); Hugging Face cannot be given them.</para>
/// The file is kept verbatim and <see cref="Save"/> writes it back unchanged, so a saved tokenizer is the same file.
/// Instances are immutable apart from the word cache, and safe to use from several threads.
/// </summary>
public sealed class HuggingFaceTokenizer : ITokenizer
{
    static readonly string[] endOfTextCandidates = ["<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"];

    readonly byte[] file;
    readonly HfNormalizer? normalizer;
    readonly HfPreTokenizer? preTokenizer;
    readonly HfBpeModel model;
    readonly HfPostProcessor? postProcessor;
    readonly HfDecoder? decoder;
    readonly HfAddedTokens? addedTokens;
    readonly string[] tokenOfId;
    readonly bool[] isSpecial;
    readonly Dictionary<string, int> specialIds = new(StringComparer.Ordinal);

    HuggingFaceTokenizer(byte[] file, HfNormalizer? normalizer, HfPreTokenizer? preTokenizer, HfBpeModel model,
        HfPostProcessor? postProcessor, HfDecoder? decoder, IReadOnlyList<HfAddedToken> added, string[] tokenOfId)
    {
        this.file = file;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.postProcessor = postProcessor;
        this.decoder = decoder;
        this.tokenOfId = tokenOfId;
        isSpecial = new bool[tokenOfId.Length];
        foreach (HfAddedToken token in added)
        {
            specialIds[token.Content] = token.Id;
            if (token.Special) isSpecial[token.Id] = true;
        }
        addedTokens = added.Count > 0 ? new HfAddedTokens(added, normalizer) : null;
        EndOfTextId = endOfTextCandidates.Select(t => specialIds.TryGetValue(t, out int id) ? id : (int?)null).FirstOrDefault(id => id is not null);
    }

    /// <summary>"hf": a Hugging Face tokenizer.json kept as it is.</summary>
    public string Kind => "hf";

    /// <summary>Number of ids: the model's vocabulary and the added tokens, which together run 0…N-1.</summary>
    public int VocabSize => tokenOfId.Length;

    /// <summary>
    /// The first added token among &lt;|endoftext|&gt; (GPT-2, Qwen2), &lt;|end_of_text|&gt; (Llama-3), &lt;/s&gt;
    /// (Llama-2, Mistral) and &lt;eos&gt;; null when the file has none of them.
    /// </summary>
    public int? EndOfTextId { get; }

    /// <summary>Every added token (special or not) with its id: all are matched verbatim in text.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokenIds => specialIds;

    /// <summary>The token string of an id, as the file's vocabulary or added_tokens spells it.</summary>
    public string TokenOf(int id) => tokenOfId[id];

    /// <summary>Hugging Face's <c>encode(text, add_special_tokens=False)</c>; see the class remarks for why.</summary>
    public int[] Encode(string text) => Encode(text, addSpecialTokens: false);

    /// <summary>
    /// Hugging Face's <c>encode(text, add_special_tokens)</c>: with true the post-processor's template is applied
    /// (Llama-3 puts &lt;|begin_of_text|&gt; first), which is Hugging Face's default.
    /// </summary>
    public int[] Encode(string text, bool addSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = HfText.Sanitize(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (text.Length > 0)
        {
            var pieces = new List<HfPiece>();
            if (addedTokens is null && normalizer is null) EncodeText(new HfPiece(text, 0, text.Length, true), ids, pieces);
            else
            {
                var segments = new List<HfSegment>();
                if (addedTokens is not null) addedTokens.Extract(text, segments);
                else
                {
                    string normalized = normalizer!.Normalize(text);
                    segments.Add(new HfSegment(-1, new HfPiece(normalized, 0, normalized.Length, true)));
                }
                foreach (HfSegment segment in segments)
                {
                    if (segment.TokenId >= 0) ids.Add(segment.TokenId);
                    else EncodeText(segment.Piece, ids, pieces);
                }
            }
        }
        int[] result = ids.ToArray();
        return addSpecialTokens && postProcessor is not null ? postProcessor.Apply(result) : result;
    }

    void EncodeText(HfPiece text, List<int> ids, List<HfPiece> pieces)
    {
        if (text.Length == 0) return;
        if (preTokenizer is null)
        {
            model.EncodeWord(text.Span, ids);
            return;
        }
        pieces.Clear();
        preTokenizer.Split(text, pieces);
        foreach (HfPiece piece in pieces) model.EncodeWord(piece.Span, ids);
    }

    /// <summary>Decodes with special tokens rendered, so that encoded chat transcripts come back whole.</summary>
    public string Decode(ReadOnlySpan<int> ids) => Decode(ids, skipSpecialTokens: false);

    /// <summary>
    /// Hugging Face's <c>decode(ids, skip_special_tokens)</c>: the ids' token strings through the file's decoder (or
    /// joined with spaces when it has none, as Hugging Face does).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside 0 … VocabSize-1.</exception>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens)
    {
        var tokens = new List<string>(ids.Length);
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)tokenOfId.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id outside the vocab (0…{tokenOfId.Length - 1})");
            if (skipSpecialTokens && isSpecial[id]) continue;
            tokens.Add(tokenOfId[id]);
        }
        return decoder is null ? string.Join(' ', tokens) : string.Concat(decoder.DecodeChain(tokens));
    }

    /// <summary>Writes the file this tokenizer was read from, byte for byte, to <c>directory/tokenizer.json</c>.</summary>
    public void Save(string directory) => AtomicFile.Write(TokenizerFile.PathIn(directory), stream => stream.Write(file));

    /// <summary>
    /// This tokenizer with <paramref name="tokens"/> added as special tokens after its last id, written into the file's
    /// own added_tokens list as Hugging Face's <c>add_special_tokens</c> does, so the saved file stays one Hugging Face
    /// reads. Tokens it already has keep their ids.
    /// </summary>
    public HuggingFaceTokenizer WithAddedSpecialTokens(IReadOnlyList<string> tokens)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(file)!.AsObject();
        var added = root["added_tokens"] as System.Text.Json.Nodes.JsonArray ?? [];
        root["added_tokens"] = added;
        int next = VocabSize;
        foreach (string token in tokens.Where(t => SpecialId(t) is null))
            added.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["id"] = next++, ["content"] = token, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            });
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        using var document = JsonDocument.Parse(bytes);
        return FromJson("tokenizer.json with added special tokens", document.RootElement, bytes);
    }

    int? SpecialId(string token) => SpecialTokenIds.TryGetValue(token, out int id) ? id : null;

    /// <summary>Reads a Hugging Face BPE <c>tokenizer.json</c>.</summary>
    /// <exception cref="InvalidInputException">The file is missing, not JSON, malformed, or uses something unsupported.</exception>
    public static HuggingFaceTokenizer Load(string path)
    {
        using JsonDocument document = TokenizerFile.ReadJson(path, out byte[] bytes);
        return FromJson(path, document.RootElement, bytes);
    }

    /// <summary>Builds the tokenizer from a parsed file; <paramref name="path"/> is for error messages only.</summary>
    internal static HuggingFaceTokenizer FromJson(string path, JsonElement root, byte[] bytes)
    {
        var json = new HfJson(path);
        if (root.ValueKind != JsonValueKind.Object) throw json.Invalid("the top level must be an object");
        foreach (string unsupported in new[] { "truncation", "padding" })
            if (json.OptionalObject(root, unsupported, unsupported) is not null)
                throw json.Invalid($"{unsupported} must be null (SharpLM does not truncate or pad when encoding)");

        JsonElement model = json.OptionalObject(root, "model", "model") ?? throw json.Invalid("model must be an object");
        string type = json.Type(model, "model");
        if (type != "BPE") throw json.Unsupported("model.type", type, "BPE");
        if (model.TryGetProperty("dropout", out JsonElement dropout) && dropout.ValueKind != JsonValueKind.Null
            && !(dropout.ValueKind == JsonValueKind.Number && dropout.TryGetDouble(out double p) && p == 0))
            throw json.Invalid("model.dropout must be null (BPE dropout makes encoding random)");
        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (!string.IsNullOrEmpty(json.OptionalString(model, affix, "model")))
                throw json.Invalid($"model.{affix} is not supported (must be null)");

        // Vocabulary: token → id, ids unique.
        if (!model.TryGetProperty("vocab", out JsonElement vocabElement) || vocabElement.ValueKind != JsonValueKind.Object)
            throw json.Invalid("model.vocab must be an object of token → id");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var tokenById = new Dictionary<int, string>();
        foreach (JsonProperty entry in vocabElement.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw json.Invalid($"model.vocab['{HfJson.Show(entry.Name)}'] must be a non-negative integer id");
            if (entry.Name.Length == 0) throw json.Invalid("model.vocab holds an empty token");
            if (!vocab.TryAdd(entry.Name, id)) throw json.Invalid($"model.vocab lists '{HfJson.Show(entry.Name)}' twice");
            if (!tokenById.TryAdd(id, entry.Name))
                throw json.Invalid($"model.vocab: id {id} is used by both '{HfJson.Show(tokenById[id])}' and '{HfJson.Show(entry.Name)}'");
        }

        // Added tokens: new ids, or the same id as the vocab entry with the same text.
        var added = new List<HfAddedToken>();
        if (root.TryGetProperty("added_tokens", out JsonElement addedElement) && addedElement.ValueKind != JsonValueKind.Null)
        {
            if (addedElement.ValueKind != JsonValueKind.Array) throw json.Invalid("added_tokens must be an array");
            var addedIds = new HashSet<int>();
            foreach (JsonElement entry in addedElement.EnumerateArray())
            {
                string field = $"added_tokens[{added.Count}]";
                if (entry.ValueKind != JsonValueKind.Object) throw json.Invalid($"{field} must be an object");
                int id = json.Int(entry, "id", field);
                string content = json.String(entry, "content", field);
                if (content.Length == 0) throw json.Invalid($"{field}.content must not be empty");
                bool special = json.Bool(entry, "special", field, absent: false);
                var token = new HfAddedToken(id, content, special, json.Bool(entry, "single_word", field, false),
                    json.Bool(entry, "lstrip", field, false), json.Bool(entry, "rstrip", field, false), json.Bool(entry, "normalized", field, !special));
                if (!addedIds.Add(id)) throw json.Invalid($"{field}.id {id} is given to another added token too");
                if (vocab.TryGetValue(content, out int vocabId) && vocabId != id)
                    throw json.Invalid($"{field}: '{HfJson.Show(content)}' has id {id} but model.vocab gives it {vocabId}");
                if (tokenById.TryGetValue(id, out string? other) && other != content)
                    throw json.Invalid($"{field}.id {id} is already model.vocab's id of '{HfJson.Show(other)}'");
                if (added.Any(a => a.Content == content)) throw json.Invalid($"{field}: '{HfJson.Show(content)}' is listed twice");
                tokenById[id] = content;
                added.Add(token);
            }
        }

        // Ids 0…N-1 without gaps: an id is a row of the model's embedding.
        var tokenOfId = new string[tokenById.Count];
        foreach (var (id, token) in tokenById)
        {
            if (id >= tokenOfId.Length) throw json.Invalid($"token ids must run 0…{tokenOfId.Length - 1} without gaps, but '{HfJson.Show(token)}' has id {id}");
            tokenOfId[id] = token;
        }
        if (tokenOfId.Length == 0) throw json.Invalid("model.vocab is empty");

        // Merges: "left right" strings or ["left", "right"] pairs; both parts and their concatenation in the vocab.
        JsonElement mergesElement = json.Array(model, "merges", "model");
        var merges = new Dictionary<long, (int Rank, int Merged)>(mergesElement.GetArrayLength());
        int rank = 0;
        foreach (JsonElement merge in mergesElement.EnumerateArray())
        {
            string field = $"model.merges[{rank}]";
            string[]? parts = merge.ValueKind switch
            {
                JsonValueKind.String => merge.GetString()!.Split(' '),
                JsonValueKind.Array when merge.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) =>
                    merge.EnumerateArray().Select(e => e.GetString()!).ToArray(),
                _ => null,
            };
            if (parts is not [string left, string right]) throw json.Invalid($"{field} is not a pair of tokens");
            if (!vocab.TryGetValue(left, out int leftId)) throw json.Invalid($"{field}: '{HfJson.Show(left)}' is not in model.vocab");
            if (!vocab.TryGetValue(right, out int rightId)) throw json.Invalid($"{field}: '{HfJson.Show(right)}' is not in model.vocab");
            if (!vocab.TryGetValue(left + right, out int mergedId)) throw json.Invalid($"{field}: the merged token '{HfJson.Show(left + right)}' is not in model.vocab");
            merges[BpeMerges.Key(leftId, rightId)] = (rank, mergedId); // a repeated pair keeps its last rank, as in Hugging Face
            rank++;
        }

        string? unk = json.OptionalString(model, "unk_token", "model");
        int unkId = -1;
        if (unk is not null && !vocab.TryGetValue(unk, out unkId)) throw json.Invalid($"model.unk_token '{HfJson.Show(unk)}' is not in model.vocab");
        bool fuseUnk = json.Bool(model, "fuse_unk", "model", false);
        bool byteFallback = json.Bool(model, "byte_fallback", "model", false);
        bool ignoreMerges = json.Bool(model, "ignore_merges", "model", false);

        HfNormalizer? normalizer = HfNormalizer.Read(json, json.OptionalObject(root, "normalizer", "normalizer"), "normalizer");
        HfPreTokenizer? preTokenizer = HfPreTokenizer.Read(json, json.OptionalObject(root, "pre_tokenizer", "pre_tokenizer"), "pre_tokenizer");
        HfPostProcessor? postProcessor = HfPostProcessor.Read(json, json.OptionalObject(root, "post_processor", "post_processor"), "post_processor", tokenOfId.Length);
        HfDecoder? decoder = HfDecoder.Read(json, json.OptionalObject(root, "decoder", "decoder"), "decoder");

        // Hugging Face silently drops a byte whose symbol is missing (no unk_token); real byte-level files have all
        // 256, so a file without them is damaged, and encoding with it would lose text without a word.
        if (preTokenizer?.IsByteLevel == true && unkId < 0)
            for (int b = 0; b < 256; b++)
            {
                string symbol = ByteLevelAlphabet.ToChar((byte)b).ToString();
                if (!vocab.ContainsKey(symbol))
                    throw json.Invalid($"model.vocab lacks the byte-level symbol '{HfJson.Show(symbol)}' for byte 0x{b:X2}, so text with that byte could not be encoded");
            }

        var bpe = new HfBpeModel(vocab, merges, preTokenizer?.IsByteLevel ?? false, ignoreMerges, byteFallback, unkId, fuseUnk);
        return new HuggingFaceTokenizer(bytes, normalizer, preTokenizer, bpe, postProcessor, decoder, added, tokenOfId);
    }
}
