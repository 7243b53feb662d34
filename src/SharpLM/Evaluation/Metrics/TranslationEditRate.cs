namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// The edit count behind TER, ported from sacrebleu's <c>metrics/lib_ter.py</c> (itself a near-exact port of
/// tercom): greedily apply the block shift of hypothesis words that lowers the edit distance most, until none
/// does, then add the remaining word-level Levenshtein distance. The limits and tie-breaks are sacrebleu's, so
/// the counts are too.
/// </summary>
internal static class TranslationEditRate
{
    // tercom's limits
    const int MaxShiftSize = 10;
    const int MaxShiftDistance = 50;
    // sacrebleu's own limit on shift candidates tried per sentence, over all shifts
    const int MaxShiftCandidates = 1000;

    /// <summary>The edits (shifts plus insertions, deletions and substitutions) turning the hypothesis into the reference, and the reference length.</summary>
    public static (int Edits, int ReferenceLength) Compute(IReadOnlyList<string> hypothesis, IReadOnlyList<string> reference)
    {
        // sacrebleu's special case: against an empty reference every hypothesis word is an edit
        if (reference.Count == 0) return (hypothesis.Count, 0);

        // Words are only ever compared for equality, so number them once and compare numbers.
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        int Id(string word)
        {
            if (!ids.TryGetValue(word, out int id)) ids.Add(word, id = ids.Count);
            return id;
        }
        int[] refIds = [.. reference.Select(Id)];
        int[] words = [.. hypothesis.Select(Id)];

        var editDistance = new BeamEditDistance(refIds);
        int shifts = 0, checkedCandidates = 0;
        while (true)
        {
            var (gain, shifted) = BestShift(words, refIds, editDistance, ref checkedCandidates);
            // sacrebleu stops once the candidate budget is spent, without applying the shift just found
            if (checkedCandidates >= MaxShiftCandidates || gain <= 0) break;
            shifts++;
            words = shifted;
        }
        return (shifts + editDistance.Distance(words).Cost, refIds.Length);
    }

    /// <summary>
    /// sacrebleu's <c>_shift</c>: the shift that reduces the edit distance most, ranked as tercom ranks them —
    /// largest gain, then longest block, then earliest block, then earliest destination.
    /// </summary>
    static (int Gain, int[] Words) BestShift(int[] hyp, int[] reference, BeamEditDistance editDistance, ref int checkedCandidates)
    {
        var (cost, inverseTrace) = editDistance.Distance(hyp);
        // The trace rewrites the hypothesis into the reference; flipped, it aligns reference positions to hypothesis ones.
        var (align, refErrors, hypErrors) = Alignment(Flip(inverseTrace), hyp.Length, reference.Length);

        (int Gain, int Length, int Start, int Target, int[] Words)? best = null;
        foreach (var (startH, startR, length) in MatchingBlocks(hyp, reference))
        {
            // shift only a block that is wrong where it is and matches where it would go
            if (!AnyError(hypErrors, startH, length) || !AnyError(refErrors, startR, length)) continue;
            // nor within itself
            if (startH <= align[startR] && align[startR] < startH + length) continue;

            int previousTarget = -1;
            for (int offset = -1; offset < length; offset++)
            {
                // unlike tercom, which inserts after an index, sacrebleu inserts before it
                int target = startR + offset == -1 ? 0 : align[startR + offset] + 1;
                if (target == previousTarget) continue;
                previousTarget = target;

                var shifted = PerformShift(hyp, startH, length, target);
                int gain = cost - editDistance.Distance(shifted).Cost;
                checkedCandidates++;
                if (best is not { } b || (gain, length, -startH, -target).CompareTo((b.Gain, b.Length, -b.Start, -b.Target)) > 0)
                    best = (gain, length, startH, target, shifted);
            }
            if (checkedCandidates >= MaxShiftCandidates) break;
        }
        return best is { } found ? (found.Gain, found.Words) : (0, hyp);
    }

    /// <summary>
    /// sacrebleu's <c>_find_shifted_pairs</c>: every (hypothesis start, reference start, length) whose words agree,
    /// each length of a run yielded in turn, starts at most 50 words apart and blocks at most 10 words long.
    /// </summary>
    static IEnumerable<(int StartH, int StartR, int Length)> MatchingBlocks(int[] hyp, int[] reference)
    {
        for (int startH = 0; startH < hyp.Length; startH++)
            for (int startR = 0; startR < reference.Length; startR++)
            {
                if (Math.Abs(startR - startH) > MaxShiftDistance) continue;
                int length = 0;
                while (hyp[startH + length] == reference[startR + length] && length < MaxShiftSize)
                {
                    length++;
                    yield return (startH, startR, length);
                    if (startH + length == hyp.Length || startR + length == reference.Length) break;
                }
            }
    }

    static bool AnyError(bool[] errors, int start, int length) => Array.IndexOf(errors, true, start, length) >= 0;

    /// <summary>sacrebleu's <c>_perform_shift</c>: moves the block <c>[start, start + length)</c> to before <paramref name="target"/>.</summary>
    static int[] PerformShift(int[] words, int start, int length, int target)
    {
        var shifted = new List<int>(words.Length);
        // a Python slice, which clips at the end of the list
        void Slice(int from, int to)
        {
            from = Math.Min(from, words.Length);
            to = Math.Min(to, words.Length);
            if (to > from) shifted.AddRange(words.AsSpan(from, to - from));
        }

        if (target < start)
        {
            Slice(0, target); Slice(start, start + length); Slice(target, start); Slice(start + length, words.Length);
        }
        else if (target > start + length)
        {
            Slice(0, start); Slice(start + length, target); Slice(start, start + length); Slice(target, words.Length);
        }
        else
        {
            Slice(0, start); Slice(start + length, length + target); Slice(start, start + length); Slice(length + target, words.Length);
        }
        return [.. shifted];
    }

    /// <summary>sacrebleu's <c>_flip_trace</c>: insertions become deletions and back, to read the trace the other way round.</summary>
    static EditOp[] Flip(EditOp[] trace) =>
        [.. trace.Select(op => op switch { EditOp.Insert => EditOp.Delete, EditOp.Delete => EditOp.Insert, _ => op })];

    /// <summary>
    /// sacrebleu's <c>trace_to_alignment</c>: for each reference position, the hypothesis position aligned to it
    /// (-1 before the first), and which reference and hypothesis positions are in error.
    /// </summary>
    static (int[] Align, bool[] RefErrors, bool[] HypErrors) Alignment(EditOp[] trace, int hypLength, int refLength)
    {
        var align = new int[refLength];
        var refErrors = new bool[refLength];
        var hypErrors = new bool[hypLength];
        int posHyp = -1, posRef = -1;
        foreach (var op in trace)
            switch (op)
            {
                case EditOp.Match or EditOp.Substitute:
                    posHyp++;
                    posRef++;
                    align[posRef] = posHyp;
                    hypErrors[posHyp] = refErrors[posRef] = op == EditOp.Substitute;
                    break;
                case EditOp.Insert:
                    posHyp++;
                    hypErrors[posHyp] = true;
                    break;
                case EditOp.Delete:
                    posRef++;
                    align[posRef] = posHyp;
                    refErrors[posRef] = true;
                    break;
            }
        return (align, refErrors, hypErrors);
    }
}

internal enum EditOp : byte { Undefined, Match, Substitute, Insert, Delete }

/// <summary>
/// sacrebleu's <c>BeamEditDistance</c>: word-level Levenshtein distance to a fixed reference that fills only a
/// band around the (length-ratio scaled) diagonal, plus the trace of operations.
/// </summary>
/// <remarks>
/// Like sacrebleu (after PyTer) it caches matrix rows in a trie keyed by hypothesis words: row i depends only on
/// the first i words, since every hypothesis scored against one reference is a shift of the same words and so
/// has the same length and band. A shift candidate then recomputes only the rows after its unchanged prefix.
/// </remarks>
internal sealed class BeamEditDistance(int[] reference)
{
    // tercom's beam
    const int BeamWidth = 25;
    // sacrebleu's _INT_INFINITY: the cost of cells outside the band, too large ever to win a minimum
    const long Infinity = 10_000_000_000_000_000;
    // sacrebleu's _MAX_CACHE_SIZE, in cached rows
    const int MaxCachedRows = 10000;

    /// <summary>A matrix row and, as a trie node, the rows cached for the words that may follow it.</summary>
    sealed class Row(long[] cost, EditOp[] ops)
    {
        public long[] Cost { get; } = cost;
        public EditOp[] Ops { get; } = ops;
        public Dictionary<int, Row>? Next { get; set; }
    }

    readonly Row root = InitialRow(reference.Length);
    int cachedRows;

    /// <summary>First row: insert each reference word.</summary>
    static Row InitialRow(int nRef) => new([.. Enumerable.Range(0, nRef + 1).Select(j => (long)j)], [.. Enumerable.Repeat(EditOp.Insert, nRef + 1)]);

    public (int Cost, EditOp[] Trace) Distance(int[] hyp)
    {
        int nHyp = hyp.Length, nRef = reference.Length;

        // rows already known for the longest cached prefix of the hypothesis
        var rows = new List<Row> { root };
        for (var node = root; rows.Count <= nHyp && node.Next?.GetValueOrDefault(hyp[rows.Count - 1]) is { } next; node = next)
            rows.Add(next);
        int cachedPrefix = rows.Count - 1;

        double lengthRatio = nHyp > 0 ? (double)nRef / nHyp : 1;
        // for very unequal lengths the band widens so that consecutive rows still overlap
        int beamWidth = BeamWidth < lengthRatio / 2 ? (int)Math.Ceiling(lengthRatio / 2 + BeamWidth) : BeamWidth;

        for (int i = cachedPrefix + 1; i <= nHyp; i++)
        {
            var above = rows[i - 1];
            var row = new Row(new long[nRef + 1], new EditOp[nRef + 1]);
            Array.Fill(row.Cost, Infinity);
            int pseudoDiagonal = (int)Math.Floor(i * lengthRatio);
            int minJ = Math.Max(0, pseudoDiagonal - beamWidth);
            int maxJ = i == nHyp ? nRef + 1 : Math.Min(nRef + 1, pseudoDiagonal + beamWidth);
            for (int j = minJ; j < maxJ; j++)
            {
                if (j == 0)
                {
                    (row.Cost[0], row.Ops[0]) = (above.Cost[0] + 1, EditOp.Delete);
                    continue;
                }
                bool same = hyp[i - 1] == reference[j - 1];
                // tercom prefers match/substitution, then insertion, then deletion; the trace is flipped
                // before use, so deletion is tried before insertion here (sacrebleu's comment)
                Relax(row, j, above.Cost[j - 1] + (same ? 0 : 1), same ? EditOp.Match : EditOp.Substitute);
                Relax(row, j, above.Cost[j] + 1, EditOp.Delete);
                Relax(row, j, row.Cost[j - 1] + 1, EditOp.Insert);
            }
            rows.Add(row);
        }
        AddToCache(hyp, rows, cachedPrefix);

        var trace = new List<EditOp>();
        for (int i = nHyp, j = nRef; i > 0 || j > 0;)
        {
            var op = rows[i].Ops[j];
            trace.Add(op);
            switch (op)
            {
                case EditOp.Match or EditOp.Substitute: i--; j--; break;
                case EditOp.Insert: j--; break;
                case EditOp.Delete: i--; break;
                default: throw new InvalidOperationException($"TER: the beam left cell ({i}, {j}) unfilled");
            }
        }
        trace.Reverse();
        return ((int)rows[nHyp].Cost[nRef], [.. trace]);
    }

    static void Relax(Row row, int j, long candidate, EditOp op)
    {
        if (row.Cost[j] > candidate) (row.Cost[j], row.Ops[j]) = (candidate, op);
    }

    void AddToCache(int[] hyp, List<Row> rows, int cachedPrefix)
    {
        for (int i = cachedPrefix + 1; i < rows.Count && cachedRows < MaxCachedRows; i++)
        {
            (rows[i - 1].Next ??= [])[hyp[i - 1]] = rows[i];
            cachedRows++;
        }
    }
}
