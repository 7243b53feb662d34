namespace SharpLM.Modeling.Architectures;

/// <summary>
/// T5's span-corruption objective (Raffel et al. 2020, §3.1.4; <c>random_spans_noise_mask</c> in the T5 code): a
/// window of T tokens gets exactly round(T·noise_density) noise tokens in round(noise / mean_span) spans, so every
/// row of a batch has the same input and target length. Spans alternate with kept runs, starting with a kept run
/// and ending with a span. The encoder input replaces span k by sentinel k; the decoder target is
/// sentinel 0, span 0, sentinel 1, span 1, …, and the decoder input is that target shifted right with sentinel 0
/// as the start token (so the leading sentinel 0 is never itself predicted).
/// </summary>
public static class SpanCorruption
{
    /// <summary>Noise tokens and spans for a window of <paramref name="length"/> tokens.</summary>
    public static (int Noise, int Spans) Counts(int length, double noiseDensity, double meanSpanLength)
    {
        int noise = Math.Clamp((int)Math.Round(length * noiseDensity, MidpointRounding.AwayFromZero), 1, Math.Max(1, length - 1));
        int spans = Math.Clamp((int)Math.Round(noise / meanSpanLength, MidpointRounding.AwayFromZero), 1, Math.Max(1, Math.Min(noise, length - noise)));
        return (noise, spans);
    }

    /// <summary>Encoder input length and decoder input (= target) length for a window of <paramref name="length"/> tokens.</summary>
    public static (int Encoder, int Decoder) Lengths(int length, double noiseDensity, double meanSpanLength)
    {
        var (noise, spans) = Counts(length, noiseDensity, meanSpanLength);
        return (length - noise + spans, noise + spans - 1);
    }

    /// <summary>Which tokens of <paramref name="row"/> are noise, drawn from the row's own content.</summary>
    public static bool[] NoiseMask(ReadOnlySpan<long> row, double noiseDensity, double meanSpanLength)
    {
        int length = row.Length;
        var (noise, spans) = Counts(length, noiseDensity, meanSpanLength);
        var rng = new RowSeed(row);
        int[] noiseLengths = Segment(noise, spans, ref rng), keptLengths = Segment(length - noise, spans, ref rng);
        var mask = new bool[length];
        int at = 0;
        for (int s = 0; s < spans; s++)
        {
            at += keptLengths[s];
            for (int i = 0; i < noiseLengths[s]; i++) mask[at++] = true;
        }
        return mask;
    }

    /// <summary>
    /// A uniformly random composition of <paramref name="items"/> into <paramref name="segments"/> non-empty parts
    /// (T5's <c>_random_segmentation</c>): segments−1 of the items−1 gaps, chosen by a partial Fisher-Yates shuffle,
    /// start a new segment.
    /// </summary>
    static int[] Segment(int items, int segments, ref RowSeed rng)
    {
        int[] gaps = Enumerable.Range(1, items - 1).ToArray();
        for (int i = 0; i < segments - 1; i++)
        {
            int j = i + (int)(rng.Next() % (ulong)(gaps.Length - i));
            (gaps[i], gaps[j]) = (gaps[j], gaps[i]);
        }
        int[] cuts = gaps.Take(segments - 1).Order().Append(items).ToArray();
        var lengths = new int[segments];
        for (int s = 0, previous = 0; s < segments; previous = cuts[s], s++) lengths[s] = cuts[s] - previous;
        return lengths;
    }

    /// <summary>
    /// Encoder input, decoder input and decoder target of one row; sentinel k is <paramref name="firstSentinel"/> + k.
    /// </summary>
    public static (long[] EncoderInput, long[] DecoderInput, long[] DecoderTarget) Corrupt(ReadOnlySpan<long> row, bool[] noise, long firstSentinel)
    {
        var input = new List<long>();
        var target = new List<long>();
        long sentinel = firstSentinel;
        for (int i = 0; i < row.Length; i++)
        {
            if (!noise[i]) { input.Add(row[i]); continue; }
            if (i == 0 || !noise[i - 1])
            {
                input.Add(sentinel);
                target.Add(sentinel);
                sentinel++;
            }
            target.Add(row[i]);
        }
        // Shifted right with sentinel 0 as the start token: the target drops its leading sentinel 0 (always first).
        long[] decoderInput = target.Take(target.Count - 1).ToArray();
        long[] decoderTarget = target.Skip(1).ToArray();
        return (input.ToArray(), decoderInput, decoderTarget);
    }
}
