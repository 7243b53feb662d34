using System.Text;
using System.Text.Json;
using SharpLM.IO;

namespace SharpLM.Tokenization;

/// <summary>
/// One token per character, as in nanoGPT's Shakespeare example: the vocabulary is the sorted set of characters in
/// the training text, so for ASCII text the ids equal nanoGPT's <c>sorted(set(text))</c>. Characters are Unicode
/// code points (<see cref="Rune"/>), not UTF-16 units, so an emoji outside the BMP is one token, not two halves.
/// There is no end-of-text token, and text containing a character the vocabulary lacks cannot be encoded.
/// Saved as <c>{"type": "char", "vocab": ["\n", " ", …]}</c>.
/// </summary>
public sealed class CharTokenizer : ITokenizer
{
    readonly Rune[] vocab;
    readonly Dictionary<Rune, int> idOf;

    CharTokenizer(Rune[] vocab)
    {
        this.vocab = vocab;
        idOf = new Dictionary<Rune, int>(vocab.Length);
        for (int id = 0; id < vocab.Length; id++)
            if (!idOf.TryAdd(vocab[id], id)) throw new ArgumentException($"character {Describe(vocab[id])} appears twice in the vocabulary");
    }

    /// <summary>Builds the vocabulary from every distinct character in <paramref name="text"/>, in code-point order.</summary>
    public static CharTokenizer FromText(string text)
    {
        var distinct = new HashSet<Rune>(Runes(text));
        if (distinct.Count == 0) throw new ArgumentException("cannot build a character vocabulary from empty text", nameof(text));
        return new CharTokenizer(distinct.Order().ToArray());
    }

    /// <summary>"char", the kind name that checkpoints and tokenizer.json record.</summary>
    public string Kind => "char";

    /// <summary>Number of distinct characters; ids are 0 … VocabSize-1 in code-point order.</summary>
    public int VocabSize => vocab.Length;

    /// <summary>Always null: a character vocabulary has no end-of-text token (wrap it with special tokens for one).</summary>
    public int? EndOfTextId => null;

    /// <summary>The character of each id.</summary>
    public IReadOnlyList<Rune> Vocabulary => vocab;

    /// <summary>One id per code point of <paramref name="text"/>.</summary>
    /// <exception cref="InvalidInputException">The text has a character outside the vocabulary.</exception>
    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length);
        foreach (Rune c in Runes(text))
        {
            if (!idOf.TryGetValue(c, out int id))
                throw new InvalidInputException($"character {Describe(c)} is not in the character tokenizer's vocabulary of {vocab.Length} characters");
            ids.Add(id);
        }
        return ids.ToArray();
    }

    /// <summary>The characters of <paramref name="ids"/>, concatenated.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var text = new StringBuilder(ids.Length);
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)vocab.Length) throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id outside the vocab (0…{vocab.Length - 1})");
            text.Append(vocab[id].ToString());
        }
        return text.ToString();
    }

    /// <summary>Writes <c>{"type": "char", "vocab": […]}</c> to <c>directory/tokenizer.json</c> (atomically).</summary>
    public void Save(string directory)
    {
        string json = JsonSerializer.Serialize(new { type = Kind, vocab = vocab.Select(c => c.ToString()) });
        AtomicFile.WriteAllText(TokenizerFile.PathIn(directory), json);
    }

    /// <summary>Rebuilds a saved tokenizer; <paramref name="path"/> is only for error messages.</summary>
    internal static CharTokenizer FromJson(string path, JsonElement root)
    {
        if (!root.TryGetProperty("vocab", out JsonElement vocab) || vocab.ValueKind != JsonValueKind.Array || vocab.GetArrayLength() == 0)
            throw InvalidInputException.ForFile(path, "\"vocab\" must be a non-empty array of single characters");
        var runes = new List<Rune>();
        foreach (JsonElement entry in vocab.EnumerateArray())
        {
            string? s = entry.ValueKind == JsonValueKind.String ? entry.GetString() : null;
            if (s is null || Rune.DecodeFromUtf16(s, out Rune c, out int used) != System.Buffers.OperationStatus.Done || used != s.Length)
                throw InvalidInputException.ForFile(path, $"vocab[{runes.Count}] is not a single character");
            runes.Add(c);
        }
        try
        {
            return new CharTokenizer(runes.ToArray());
        }
        catch (ArgumentException e)
        {
            throw InvalidInputException.ForFile(path, e.Message, e);
        }
    }

    /// <summary>The code points of <paramref name="text"/>; an unpaired surrogate is not a character and is refused.</summary>
    static IEnumerable<Rune> Runes(string text)
    {
        for (int i = 0; i < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out Rune c, out int used) != System.Buffers.OperationStatus.Done)
                throw new InvalidInputException($"text has an unpaired UTF-16 surrogate (U+{(int)text[i]:X4}) at index {i}");
            yield return c;
            i += used;
        }
    }

    // "U+00E9 'é'": the code point always, the glyph only when printing it cannot break the one-line message.
    static string Describe(Rune c) =>
        Rune.IsControl(c) || Rune.IsWhiteSpace(c) ? $"U+{c.Value:X4}" : $"U+{c.Value:X4} '{c}'";
}
