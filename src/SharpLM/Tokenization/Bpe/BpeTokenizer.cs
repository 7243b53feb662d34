using System.Buffers;
using System.Collections.Concurrent;
using System.Text;

namespace SharpLM.Tokenization;

/// <summary>
/// Byte-level BPE, as in GPT-2: text → special tokens cut out → GPT-2 pre-tokens → UTF-8 bytes → one base token per
/// byte → merges applied in rank order. Any Unicode string encodes (there is no unknown token) and decodes back
/// exactly. Encoding follows Hugging Face tokenizers' BPE model step for step, so both give the same ids for the same
/// <c>tokenizer.json</c>. Instances are immutable and safe to use from several threads.
/// </summary>
public sealed class BpeTokenizer : ITokenizer
{
    /// <summary>GPT-2's document separator; if it is one of the special tokens it is <see cref="EndOfTextId"/>.</summary>
    public const string EndOfText = "<|endoftext|>";

    // Encoding a word is the slow part, and natural text repeats words constantly, so results are cached by word.
    // The cap keeps memory bounded on endless streams of new words (numbers, hashes): beyond it we just recompute.
    const int MaxCachedWords = 100_000;
    // The entry cap alone does not bound memory: one word can be a megabyte of letters from a server request. Words
    // that long are not natural text and do not repeat, so they are not cached at all.
    const int MaxCachedWordLength = 256;

    readonly string[] vocab;
    readonly (string Left, string Right)[] merges;
    readonly string[] specialTokens;
    readonly Dictionary<string, int> idOfToken;
    readonly Dictionary<long, (int Rank, int Merged)> mergeOf = new(); // BpeMerges.Key(left, right) → rank, merged id
    readonly int[] byteToId = new int[256];
    readonly byte[][] idToBytes;
    readonly Dictionary<string, int> specialIds = new(StringComparer.Ordinal);
    readonly SpecialTokenSplitter splitter;
    readonly ConcurrentDictionary<string, int[]> cache = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> cacheBySpan;
    int cachedWords;

    /// <summary>Whether <paramref name="word"/> is in the encode cache (for tests of its bounds).</summary>
    internal bool IsCached(string word) => cache.ContainsKey(word);

    /// <summary>A tokenizer from a vocabulary, its merge rules and its special tokens.</summary>
    /// <param name="vocab">Token of each id: byte-level symbols (see <see cref="ByteLevelAlphabet"/>) for ordinary
    /// tokens, plain text for special tokens. Must contain all 256 byte symbols.</param>
    /// <param name="merges">Merge rules, highest priority first; each pair's concatenation must be in the vocab.</param>
    /// <param name="specialTokens">Tokens (also in <paramref name="vocab"/>) matched verbatim in text before BPE.</param>
    /// <exception cref="ArgumentException">The three do not fit together.</exception>
    public BpeTokenizer(IReadOnlyList<string> vocab, IReadOnlyList<(string Left, string Right)> merges, IReadOnlyList<string> specialTokens)
    {
        this.vocab = vocab.ToArray();
        this.merges = merges.ToArray();
        this.specialTokens = specialTokens.ToArray();

        var ids = idOfToken = new Dictionary<string, int>(this.vocab.Length, StringComparer.Ordinal);
        for (int id = 0; id < this.vocab.Length; id++)
            if (!ids.TryAdd(this.vocab[id], id)) throw new ArgumentException($"token '{this.vocab[id]}' appears twice in the vocab (ids {ids[this.vocab[id]]} and {id})");

        foreach (string special in this.specialTokens)
        {
            if (special.Length == 0) throw new ArgumentException("special tokens must not be empty");
            if (!ids.TryGetValue(special, out int id)) throw new ArgumentException($"special token '{special}' is not in the vocab");
            specialIds[special] = id;
        }
        splitter = new SpecialTokenSplitter(this.specialTokens);

        idToBytes = new byte[this.vocab.Length][];
        for (int id = 0; id < this.vocab.Length; id++)
        {
            string token = this.vocab[id];
            if (specialIds.ContainsKey(token)) idToBytes[id] = Encoding.UTF8.GetBytes(token);
            else if (token.Length == 0 || !ByteLevelAlphabet.TryGetBytes(token, out idToBytes[id]))
                throw new ArgumentException($"token '{token}' (id {id}) is not a byte-level token and not a special token");
        }

        for (int b = 0; b < 256; b++)
            if (!ids.TryGetValue(ByteLevelAlphabet.ToChar((byte)b).ToString(), out byteToId[b]))
                throw new ArgumentException($"the vocab lacks the symbol '{ByteLevelAlphabet.ToChar((byte)b)}' for byte 0x{b:X2}, so not every text could be encoded");

        for (int rank = 0; rank < this.merges.Length; rank++)
        {
            var (left, right) = this.merges[rank];
            if (!ids.TryGetValue(left, out int leftId) || !ids.TryGetValue(right, out int rightId) || !ids.TryGetValue(left + right, out int mergedId))
                throw new ArgumentException($"merge {rank} ('{left}' '{right}') uses or makes a token that is not in the vocab");
            // A pair listed twice takes its last rank, as in Hugging Face and GPT-2's reference encoder.
            mergeOf[BpeMerges.Key(leftId, rightId)] = (rank, mergedId);
        }

        EndOfTextId = specialIds.TryGetValue(EndOfText, out int endOfText) ? endOfText : null;
        cacheBySpan = cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>"bpe", the kind name that checkpoints record.</summary>
    public string Kind => "bpe";

    /// <summary>Number of tokens in <see cref="Vocab"/>, special tokens included.</summary>
    public int VocabSize => vocab.Length;

    /// <summary>The id of &lt;|endoftext|&gt; when it is one of the special tokens, else null.</summary>
    public int? EndOfTextId { get; }

    /// <summary>Token of each id (byte-level symbols, or the text of a special token).</summary>
    public IReadOnlyList<string> Vocab => vocab;

    /// <summary>Merge rules in priority order: rank 0 is applied first.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges => merges;

    /// <summary>Tokens matched verbatim in text, e.g. &lt;|endoftext|&gt;.</summary>
    public IReadOnlyList<string> SpecialTokens => specialTokens;

    /// <summary>Each of <see cref="SpecialTokens"/> with its id.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokenIds => specialIds;

    /// <summary>Looks up the id of a token as stored in the vocab (byte-level symbols, e.g. "Ġthe").</summary>
    public bool TryGetId(string token, out int id) => idOfToken.TryGetValue(token, out id);

    /// <summary>
    /// Encodes any string: special tokens are cut out first and become their ids, the rest goes through GPT-2
    /// pre-tokenization and byte-level BPE.
    /// </summary>
    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 1);
        ReadOnlySpan<char> rest = text;
        while (splitter.TryFindNext(rest, out int index, out string special))
        {
            EncodeOrdinary(rest[..index], ids);
            ids.Add(specialIds[special]);
            rest = rest[(index + special.Length)..];
        }
        EncodeOrdinary(rest, ids);
        return ids.ToArray();
    }

    /// <summary>
    /// Concatenates the tokens' bytes and decodes them as UTF-8. For the ids of a whole encoded text this is exact;
    /// a slice that cuts a multi-byte character shows U+FFFD for the cut part.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        int length = 0;
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)idToBytes.Length) throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id outside the vocab (0…{idToBytes.Length - 1})");
            length += idToBytes[id].Length;
        }
        byte[] bytes = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            int at = 0;
            foreach (int id in ids)
            {
                idToBytes[id].CopyTo(bytes, at);
                at += idToBytes[id].Length;
            }
            return Encoding.UTF8.GetString(bytes, 0, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>Writes a Hugging Face <c>tokenizer.json</c> (see <see cref="HuggingFaceTokenizerJson"/>).</summary>
    public void Save(string directory) => HuggingFaceTokenizerJson.Save(this, TokenizerFile.PathIn(directory));

    void EncodeOrdinary(ReadOnlySpan<char> text, List<int> ids)
    {
        foreach (ReadOnlySpan<char> word in GptPreTokenizer.Split(text)) ids.AddRange(EncodeWord(word));
    }

    int[] EncodeWord(ReadOnlySpan<char> word)
    {
        if (cacheBySpan.TryGetValue(word, out int[]? cached)) return cached;

        int byteCount = Encoding.UTF8.GetByteCount(word);
        byte[] rented = ArrayPool<byte>.Shared.Rent(byteCount);
        var symbols = new int[byteCount];
        try
        {
            Encoding.UTF8.GetBytes(word, rented);
            for (int i = 0; i < byteCount; i++) symbols[i] = byteToId[rented[i]];
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
        int[] result = BpeMerges.Apply(symbols, mergeOf);

        if (word.Length <= MaxCachedWordLength && cachedWords < MaxCachedWords && cacheBySpan.TryAdd(word, result)) Interlocked.Increment(ref cachedWords);
        return result;
    }
}
