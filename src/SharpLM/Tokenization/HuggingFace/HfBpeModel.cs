using System.Buffers;
using System.Collections.Concurrent;
using System.Text;

namespace SharpLM.Tokenization.HuggingFace;

/// <summary>
/// The BPE <c>model</c> of tokenizer.json, step for step as Hugging Face's <c>BPE::merge_word</c>: each character of
/// a word (each UTF-8 byte's symbol when byte-level) becomes its vocab id — or, when it has none, its UTF-8 bytes as
/// &lt;0xNN&gt; tokens (byte_fallback), or the unknown token (consecutive ones fused with fuse_unk), or nothing —
/// and then merges apply, lowest rank first, leftmost among equals. With ignore_merges a word that is itself a vocab
/// token is that token. Results are cached per word: natural text repeats words, and the cache turns most of the
/// work into one dictionary lookup on a span (no string is allocated for a word already seen).
/// </summary>
internal sealed class HfBpeModel
{
    const int MaxCachedWords = 200_000;
    const int MaxCachedWordLength = 256;

    readonly bool byteLevel;
    readonly bool ignoreMerges;
    readonly int unkId;
    readonly bool fuseUnk;
    readonly int[] byteSymbol = new int[256];          // byte-level: id of each byte's symbol, -1 if not in the vocab
    readonly int[][] byteSymbolFallback = new int[256][]; // byte-level: ids when the symbol is missing (may be empty)
    readonly int[]? byteFallbackIds;                     // <0x00>…<0xFF> ids, or null when byte_fallback is off
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> vocabBySpan;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> wholeWordBySpan;
    readonly Dictionary<long, (int Rank, int Merged)> merges;
    readonly ConcurrentDictionary<string, int[]> cache = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> cacheBySpan;
    int cachedWords;

    /// <summary>A model over a checked vocabulary and merges (see <see cref="HuggingFaceTokenizer"/> for the checks).</summary>
    public HfBpeModel(Dictionary<string, int> vocab, Dictionary<long, (int Rank, int Merged)> merges, bool byteLevel,
        bool ignoreMerges, bool byteFallback, int unkId, bool fuseUnk)
    {
        this.byteLevel = byteLevel;
        this.ignoreMerges = ignoreMerges;
        this.unkId = unkId;
        this.fuseUnk = fuseUnk;
        this.merges = merges;
        vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        cacheBySpan = cache.GetAlternateLookup<ReadOnlySpan<char>>();

        if (byteFallback)
        {
            byteFallbackIds = new int[256];
            for (int b = 0; b < 256; b++) byteFallbackIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        }

        if (byteLevel)
        {
            for (int b = 0; b < 256; b++)
            {
                string symbol = ByteLevelAlphabet.ToChar((byte)b).ToString();
                byteSymbol[b] = vocab.TryGetValue(symbol, out int id) ? id : -1;
                byteSymbolFallback[b] = FallbackIds(symbol) ?? [];
            }
            // ignore_merges compares the word's byte symbols with the vocab; keyed by the text those symbols spell,
            // the comparison needs no conversion of the word.
            var byText = new Dictionary<string, int>(StringComparer.Ordinal);
            var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
            if (ignoreMerges)
                foreach (var (token, id) in vocab)
                {
                    if (!ByteLevelAlphabet.TryGetBytes(token, out byte[] bytes)) continue;
                    try { byText.TryAdd(strict.GetString(bytes), id); }
                    catch (DecoderFallbackException) { }
                }
            wholeWordBySpan = byText.GetAlternateLookup<ReadOnlySpan<char>>();
        }
        else wholeWordBySpan = vocabBySpan;
    }

    /// <summary>Appends the ids of one pre-tokenized word.</summary>
    public void EncodeWord(ReadOnlySpan<char> word, List<int> ids)
    {
        if (word.IsEmpty) return;
        if (cacheBySpan.TryGetValue(word, out int[]? cached))
        {
            ids.AddRange(cached);
            return;
        }
        int[] result = ignoreMerges && wholeWordBySpan.TryGetValue(word, out int whole) ? [whole] : MergeWord(word);
        if (word.Length <= MaxCachedWordLength && cachedWords < MaxCachedWords && cacheBySpan.TryAdd(word, result))
            Interlocked.Increment(ref cachedWords);
        ids.AddRange(result);
    }

    // The ids of a character missing from the vocab under byte_fallback: its UTF-8 bytes as <0xNN>, if all exist.
    int[]? FallbackIds(ReadOnlySpan<char> character)
    {
        if (byteFallbackIds is null) return null;
        Span<byte> utf8 = stackalloc byte[8];
        int count = Encoding.UTF8.GetBytes(character, utf8);
        var ids = new int[count];
        for (int i = 0; i < count; i++)
            if ((ids[i] = byteFallbackIds[utf8[i]]) < 0) return null;
        return ids;
    }

    int[] MergeWord(ReadOnlySpan<char> word)
    {
        var symbols = new List<int>(word.Length * 2);
        bool pendingUnk = false;
        void Known(int id)
        {
            if (pendingUnk) symbols.Add(unkId);
            pendingUnk = false;
            symbols.Add(id);
        }
        void Unknown()
        {
            if (unkId < 0) return; // no unk_token: Hugging Face drops the character
            if (pendingUnk && !fuseUnk) symbols.Add(unkId);
            pendingUnk = true;
        }

        if (byteLevel)
        {
            int byteCount = Encoding.UTF8.GetByteCount(word);
            byte[] rented = ArrayPool<byte>.Shared.Rent(byteCount);
            try
            {
                Encoding.UTF8.GetBytes(word, rented);
                for (int i = 0; i < byteCount; i++)
                {
                    byte b = rented[i];
                    if (byteSymbol[b] >= 0) Known(byteSymbol[b]);
                    else if (byteFallbackIds is not null && byteSymbolFallback[b].Length > 0) symbols.AddRange(byteSymbolFallback[b]);
                    else Unknown();
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
        else
        {
            for (int i = 0; i < word.Length;)
            {
                int width = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
                ReadOnlySpan<char> character = word.Slice(i, width);
                i += width;
                if (vocabBySpan.TryGetValue(character, out int id)) Known(id);
                // Hugging Face adds fallback bytes without first flushing a pending unknown token; so do we.
                else if (FallbackIds(character) is { } fallback) symbols.AddRange(fallback);
                else Unknown();
            }
        }
        if (pendingUnk) symbols.Add(unkId);
        return BpeMerges.Apply(symbols.ToArray(), merges);
    }
}
