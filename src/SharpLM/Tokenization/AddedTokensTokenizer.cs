using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpLM.IO;

namespace SharpLM.Tokenization;

/// <summary>
/// Any tokenizer plus special tokens appended after its vocabulary (ids <c>Base.VocabSize</c>, <c>+1</c>, …), as chat
/// formats need: &lt;|im_start|&gt; must be one atomic id, never the characters '&lt;', '|', … . Encoding cuts the
/// special strings out first (leftmost, longest — Hugging Face's rule for added tokens) and encodes the text between
/// them with the base tokenizer; decoding renders them back, so text round-trips. A token the base already treats
/// as special keeps the base's id. Saved as the base's <c>tokenizer.json</c> with an extra
/// <c>"added_tokens": ["&lt;|im_start|&gt;", …]</c> array of strings (in id order), which
/// <see cref="TokenizerFactory"/> reads back; files without it load as the plain base tokenizer.
/// Byte-level BPE does not need this wrapper: <see cref="SpecialTokens.WithSpecialTokens"/> extends its own vocab.
/// </summary>
public sealed class AddedTokensTokenizer : ITokenizer
{
    /// <summary>The field of tokenizer.json that lists the added tokens.</summary>
    public const string FieldName = "added_tokens";

    readonly string[] added;
    readonly int[] addedIds;
    readonly Dictionary<string, int> specialIds;
    readonly SpecialTokenSplitter splitter;

    /// <summary>Wraps <paramref name="baseTokenizer"/>, appending each of <paramref name="tokens"/> it does not already have as a special token.</summary>
    /// <exception cref="ArgumentException">A token is empty or listed twice, or the base cannot be wrapped.</exception>
    public AddedTokensTokenizer(ITokenizer baseTokenizer, IReadOnlyList<string> tokens)
    {
        if (baseTokenizer is AddedTokensTokenizer) throw new ArgumentException("wrap the base tokenizer once, with all added tokens");
        Base = baseTokenizer;
        specialIds = new Dictionary<string, int>(baseTokenizer.SpecialTokenIds, StringComparer.Ordinal);
        var appended = new List<string>();
        var ids = new List<int>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string token in tokens)
        {
            if (string.IsNullOrEmpty(token)) throw new ArgumentException("added tokens must not be empty");
            if (!seen.Add(token)) throw new ArgumentException($"added token '{token}' is listed twice");
            if (!specialIds.TryGetValue(token, out int id))
            {
                id = baseTokenizer.VocabSize + appended.Count;
                appended.Add(token);
                specialIds[token] = id;
            }
            ids.Add(id);
        }
        added = appended.ToArray();
        addedIds = ids.ToArray();
        AddedTokens = tokens.ToArray();
        splitter = new SpecialTokenSplitter(specialIds.Keys);
        EndOfTextId = baseTokenizer.EndOfTextId ?? (specialIds.TryGetValue(BpeTokenizer.EndOfText, out int end) ? end : null);
    }

    /// <summary>The tokenizer whose vocabulary the added tokens follow.</summary>
    public ITokenizer Base { get; }

    /// <summary>The added tokens, in the order given.</summary>
    public IReadOnlyList<string> AddedTokens { get; }

    /// <summary>The id of each of <see cref="AddedTokens"/> (the base's own id for a token it already had).</summary>
    public IReadOnlyList<int> AddedTokenIds => addedIds;

    /// <summary>The base's kind: the added tokens are recorded in the same tokenizer.json.</summary>
    public string Kind => Base.Kind;

    /// <summary>The base's vocabulary size plus the newly appended tokens.</summary>
    public int VocabSize => Base.VocabSize + added.Length;

    /// <summary>The base's, or else the id of an added &lt;|endoftext|&gt;.</summary>
    public int? EndOfTextId { get; }

    /// <summary>The base's special tokens and the added ones, each with its id.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokenIds => specialIds;

    /// <summary>Cuts out special tokens (leftmost, longest first) and encodes the text between them with the base.</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 2 + 1);
        ReadOnlySpan<char> rest = text;
        while (splitter.TryFindNext(rest, out int index, out string special))
        {
            if (index > 0) ids.AddRange(Base.Encode(rest[..index].ToString()));
            ids.Add(specialIds[special]);
            rest = rest[(index + special.Length)..];
        }
        if (rest.Length > 0) ids.AddRange(Base.Encode(rest.ToString()));
        return ids.ToArray();
    }

    /// <summary>Runs of base ids are decoded together (a multi-byte character may span several byte-level ids).</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var text = new StringBuilder();
        int runStart = 0;
        for (int i = 0; i <= ids.Length; i++)
        {
            bool isAdded = i < ids.Length && ids[i] >= Base.VocabSize;
            if (i < ids.Length && !isAdded) continue;
            if (i > runStart) text.Append(Base.Decode(ids[runStart..i]));
            if (isAdded)
            {
                int index = ids[i] - Base.VocabSize;
                if (index >= added.Length) throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"token id outside the vocab (0…{VocabSize - 1})");
                text.Append(added[index]);
            }
            runStart = i + 1;
        }
        return text.ToString();
    }

    /// <summary>The base's file plus the <c>added_tokens</c> array.</summary>
    public void Save(string directory)
    {
        Base.Save(directory);
        string path = TokenizerFile.PathIn(directory);
        JsonObject root = JsonNode.Parse(File.ReadAllText(path))?.AsObject()
            ?? throw new InvalidOperationException($"{path}: the base tokenizer wrote JSON null");
        root[FieldName] = new JsonArray(AddedTokens.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
        // Relaxed escaping keeps "<|im_start|>" readable instead of "\u003C|im_start|\u003E".
        AtomicFile.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    /// <summary>
    /// Wraps <paramref name="baseTokenizer"/> when the SharpLM-format file <paramref name="root"/> lists added tokens;
    /// otherwise returns it unchanged. <paramref name="path"/> is only for error messages.
    /// </summary>
    internal static ITokenizer FromJson(string path, JsonElement root, ITokenizer baseTokenizer)
    {
        if (!root.TryGetProperty(FieldName, out JsonElement list) || list.ValueKind == JsonValueKind.Null) return baseTokenizer;
        if (list.ValueKind != JsonValueKind.Array)
            throw InvalidInputException.ForFile(path, $"\"{FieldName}\" must be an array of strings");
        var tokens = new List<string>();
        foreach (JsonElement entry in list.EnumerateArray())
            tokens.Add(entry.ValueKind == JsonValueKind.String && entry.GetString() is { Length: > 0 } s
                ? s : throw InvalidInputException.ForFile(path, $"{FieldName}[{tokens.Count}] is not a non-empty string"));
        try
        {
            return new AddedTokensTokenizer(baseTokenizer, tokens);
        }
        catch (ArgumentException e)
        {
            throw InvalidInputException.ForFile(path, $"{FieldName}: {e.Message}", e);
        }
    }
}
