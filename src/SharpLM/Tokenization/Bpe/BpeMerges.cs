namespace SharpLM.Tokenization;

/// <summary>
/// BPE's merge step, shared by SharpLM's tokenizer and Hugging Face tokenizer.json files: repeatedly merge the adjacent
/// pair with the best (lowest) rank, leftmost first among equals — Hugging Face's <c>Word::merge_all</c>. Symbols sit
/// in a linked list (merging unlinks the right one) and candidate merges in a priority queue, so a word of n symbols
/// costs O(n log n) rather than a rescan after every merge.
/// </summary>
internal static class BpeMerges
{
    /// <summary>The key of the pair (<paramref name="left"/>, <paramref name="right"/>) in a rank table.</summary>
    public static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>The ids <paramref name="symbols"/> merge to under <paramref name="ranks"/> (pair key → rank and merged id); the array is reused.</summary>
    public static int[] Apply(int[] symbols, Dictionary<long, (int Rank, int Merged)> ranks)
    {
        int n = symbols.Length;
        if (n < 2) return symbols;
        const int Removed = -1;
        var next = new int[n];
        var prev = new int[n];
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1; // n means "no next symbol"
            prev[i] = i - 1;
        }
        var queue = new PriorityQueue<(int Position, int Merged), (int Rank, int Position)>(n);
        void Consider(int position)
        {
            if (next[position] < n && ranks.TryGetValue(Key(symbols[position], symbols[next[position]]), out var merge))
                queue.Enqueue((position, merge.Merged), (merge.Rank, position));
        }
        for (int i = 0; i < n - 1; i++) Consider(i);

        while (queue.TryDequeue(out var candidate, out _))
        {
            int left = candidate.Position;
            if (symbols[left] == Removed || next[left] == n) continue;
            int right = next[left];
            // Entries go stale when a neighbour merges first; skip unless the pair here still makes this token.
            if (!ranks.TryGetValue(Key(symbols[left], symbols[right]), out var merge) || merge.Merged != candidate.Merged) continue;
            symbols[left] = merge.Merged;
            symbols[right] = Removed;
            next[left] = next[right];
            if (next[left] < n) prev[next[left]] = left;
            if (prev[left] >= 0) Consider(prev[left]);
            Consider(left);
        }
        return Array.FindAll(symbols, s => s != Removed);
    }
}
