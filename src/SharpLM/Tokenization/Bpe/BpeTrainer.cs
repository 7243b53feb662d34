using System.Runtime.InteropServices;
using System.Text;

namespace SharpLM.Tokenization;

/// <summary>
/// Learns a byte-level BPE vocabulary from text, GPT-2 style, in two phases.
/// <para>Counting: documents are split exactly as the encoder splits them (special tokens cut out, then GPT-2
/// pre-tokens) and each distinct pre-token ("word") is counted. Only the counts are kept, so the corpus can be
/// streamed; memory grows with the number of distinct words, not with the size of the text.</para>
/// <para>Merging: every word starts as its UTF-8 bytes, one base token each. The adjacent pair that occurs most often
/// (summed over words, weighted by word count) becomes a new token, and this repeats until the vocabulary is full.
/// Rather than recounting the corpus after each merge, we keep the count of every pair and, for each pair, the set
/// of words containing it: a merge rewrites only those words and adjusts counts by the difference.</para>
/// <para>Equal counts are broken by the smaller (left id, right id), as in Hugging Face's trainer, so training the
/// same corpus always gives the same tokenizer.</para>
/// </summary>
public sealed class BpeTrainer
{
    const int ReadBlockChars = 1 << 20;

    readonly BpeTrainerOptions options;
    readonly SpecialTokenSplitter splitter;
    readonly Dictionary<string, long> wordCounts = new(StringComparer.Ordinal);
    readonly Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> wordCountsBySpan;

    /// <summary>A trainer with no words counted yet.</summary>
    /// <exception cref="ArgumentException">
    /// A special token is empty, holds a line break or is listed twice, or the vocabulary size is below 256 plus the
    /// special tokens.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">The minimum frequency is negative.</exception>
    public BpeTrainer(BpeTrainerOptions options)
    {
        foreach (string special in options.SpecialTokens)
            if (special.Length == 0 || special.AsSpan().ContainsAny('\n', '\r'))
                throw new ArgumentException($"special token '{special}' must be non-empty and contain no line break", nameof(options));
        if (options.SpecialTokens.Distinct(StringComparer.Ordinal).Count() != options.SpecialTokens.Count)
            throw new ArgumentException("special tokens must be distinct", nameof(options));
        int minimum = 256 + options.SpecialTokens.Count;
        if (options.VocabSize < minimum)
            throw new ArgumentException($"vocab size {options.VocabSize} is below {minimum} (256 bytes + {options.SpecialTokens.Count} special tokens)", nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MinFrequency);

        this.options = options;
        splitter = new SpecialTokenSplitter(options.SpecialTokens);
        wordCountsBySpan = wordCounts.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Counts the words of one document.</summary>
    public void AddDocument(string text) => Count(text);

    /// <summary>Counts the words of each document.</summary>
    public void AddDocuments(IEnumerable<string> documents)
    {
        foreach (string document in documents) Count(document);
    }

    /// <summary>
    /// Counts the words of a text read block by block, so files of any size stream through. The counts equal those of
    /// the whole text read at once (see <see cref="LastSafeCut"/>).
    /// </summary>
    public void AddText(TextReader reader)
    {
        var buffer = new char[ReadBlockChars];
        int filled = 0, read;
        while ((read = reader.Read(buffer, filled, buffer.Length - filled)) > 0)
        {
            filled += read;
            int cut = LastSafeCut(buffer.AsSpan(0, filled));
            if (cut < 0)
            {
                // One enormous line: keep reading until it ends.
                if (filled == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                continue;
            }
            Count(buffer.AsSpan(0, cut));
            buffer.AsSpan(cut, filled - cut).CopyTo(buffer);
            filled -= cut;
        }
        Count(buffer.AsSpan(0, filled));
    }

    /// <summary>
    /// The last position just before a line break that follows a non-space character, or -1. No pre-token spans it:
    /// the one before ends in that character (letters, digits and symbols never absorb whitespace) and a piece never
    /// depends on the text before it, so the text after it splits the same on its own. Special tokens contain no line break, so
    /// none spans it either.
    /// </summary>
    static int LastSafeCut(ReadOnlySpan<char> text)
    {
        for (int i = text.Length - 1; i > 0; i--)
            if (text[i] is '\n' or '\r' && !char.IsWhiteSpace(text[i - 1])) return i;
        return -1;
    }

    void Count(ReadOnlySpan<char> text)
    {
        while (splitter.TryFindNext(text, out int index, out string special))
        {
            CountWords(text[..index]);
            text = text[(index + special.Length)..];
        }
        CountWords(text);
    }

    void CountWords(ReadOnlySpan<char> text)
    {
        foreach (ReadOnlySpan<char> word in GptPreTokenizer.Split(text))
            CollectionsMarshal.GetValueRefOrAddDefault(wordCountsBySpan, word, out _)++;
    }

    /// <summary>Learns the merges from the words counted so far and returns the tokenizer.</summary>
    public BpeTokenizer Train()
    {
        // Base vocabulary: the 256 byte symbols in GPT-2 order; merged tokens follow, special tokens come last.
        var vocab = ByteLevelAlphabet.Symbols.Select(c => c.ToString()).ToList();
        var idOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < vocab.Count; id++) idOf[vocab[id]] = id;
        var byteId = new int[256];
        for (int b = 0; b < 256; b++) byteId[b] = idOf[ByteLevelAlphabet.ToChar((byte)b).ToString()];

        var words = new Words(wordCounts.Count);
        foreach (var (word, count) in wordCounts)
            words.Add(Encoding.UTF8.GetBytes(word).Select(b => byteId[b]).ToArray(), count);

        // Min-heap on (-count, left, right): most frequent pair first, smaller ids first among equals. Counts only
        // ever drop for pairs already queued, so rather than updating entries we re-check each one when it surfaces.
        var queue = new PriorityQueue<(int Left, int Right), (long NegatedCount, int Left, int Right)>();
        foreach (var (pair, count) in words.PairCounts) queue.Enqueue(pair, (-count, pair.Left, pair.Right));

        var merges = new List<(string Left, string Right)>();
        int mergedVocabSize = options.VocabSize - options.SpecialTokens.Count;
        while (vocab.Count < mergedVocabSize && queue.TryDequeue(out var pair, out var queued))
        {
            long count = words.PairCounts.GetValueOrDefault(pair);
            if (count != -queued.NegatedCount)
            {
                if (count > 0) queue.Enqueue(pair, (-count, pair.Left, pair.Right));
                continue;
            }
            if (count < options.MinFrequency) break;

            // Two pairs can spell the same token ("ab"+"c", "a"+"bc"): the merge is still needed, the token is not new.
            string merged = vocab[pair.Left] + vocab[pair.Right];
            if (!idOf.TryGetValue(merged, out int mergedId))
            {
                mergedId = vocab.Count;
                vocab.Add(merged);
                idOf[merged] = mergedId;
            }
            merges.Add((vocab[pair.Left], vocab[pair.Right]));

            foreach (var (grown, newCount) in words.Merge(pair, mergedId))
                queue.Enqueue(grown, (-newCount, grown.Left, grown.Right));
        }

        vocab.AddRange(options.SpecialTokens);
        return new BpeTokenizer(vocab, merges, options.SpecialTokens);
    }

    /// <summary>The distinct words as token sequences, with the pair statistics the merge loop needs.</summary>
    sealed class Words(int capacity)
    {
        readonly List<int[]> tokens = new(capacity);
        readonly List<long> counts = new(capacity);
        // For each pair, the words that contain (or once contained) it. Entries are not removed when a word loses
        // the pair; Merge simply finds nothing to do in such a word.
        readonly Dictionary<(int Left, int Right), HashSet<int>> wordsWithPair = new();

        /// <summary>How often each adjacent pair occurs, summed over words and weighted by word count.</summary>
        public Dictionary<(int Left, int Right), long> PairCounts { get; } = new();

        public void Add(int[] word, long count)
        {
            int index = tokens.Count;
            tokens.Add(word);
            counts.Add(count);
            for (int i = 0; i + 1 < word.Length; i++)
            {
                CollectionsMarshal.GetValueRefOrAddDefault(PairCounts, (word[i], word[i + 1]), out _) += count;
                WordsWith((word[i], word[i + 1])).Add(index);
            }
        }

        /// <summary>
        /// Replaces <paramref name="pair"/> by <paramref name="mergedId"/> in every word containing it, updates the
        /// pair counts, and returns the pairs whose counts grew (the new neighbours of the merged token).
        /// </summary>
        public List<((int Left, int Right) Pair, long Count)> Merge((int Left, int Right) pair, int mergedId)
        {
            var change = new Dictionary<(int Left, int Right), long>();
            wordsWithPair.Remove(pair, out HashSet<int>? affected);
            foreach (int index in affected ?? [])
            {
                int[] before = tokens[index];
                int[]? after = Replace(before, pair, mergedId);
                if (after is null) continue;
                long count = counts[index];
                for (int i = 0; i + 1 < before.Length; i++)
                    CollectionsMarshal.GetValueRefOrAddDefault(change, (before[i], before[i + 1]), out _) -= count;
                for (int i = 0; i + 1 < after.Length; i++)
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(change, (after[i], after[i + 1]), out _) += count;
                    WordsWith((after[i], after[i + 1])).Add(index);
                }
                tokens[index] = after;
            }

            var grown = new List<((int, int), long)>();
            foreach (var (changed, delta) in change)
            {
                if (delta == 0) continue;
                long total = PairCounts.GetValueOrDefault(changed) + delta;
                if (total == 0) PairCounts.Remove(changed);
                else PairCounts[changed] = total;
                if (delta > 0) grown.Add((changed, total));
            }
            return grown;
        }

        HashSet<int> WordsWith((int Left, int Right) pair)
        {
            ref HashSet<int>? words = ref CollectionsMarshal.GetValueRefOrAddDefault(wordsWithPair, pair, out _);
            return words ??= [];
        }

        // Left to right, so "aaa" with pair (a, a) becomes "aa a". Null if the pair does not occur.
        static int[]? Replace(int[] word, (int Left, int Right) pair, int mergedId)
        {
            List<int>? result = null;
            for (int i = 0; i < word.Length; i++)
            {
                if (i + 1 < word.Length && word[i] == pair.Left && word[i + 1] == pair.Right)
                {
                    result ??= new List<int>(word[..i]);
                    result.Add(mergedId);
                    i++;
                }
                else result?.Add(word[i]);
            }
            return result?.ToArray();
        }
    }
}
