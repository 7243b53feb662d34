namespace SharpLM.Evaluation.Metrics;

/// <summary>
/// sacrebleu's corpus layout: one stream per reference set, each holding one reference per hypothesis. A null
/// entry means "this segment has no reference in this set" (sacrebleu's variable number of references); an empty
/// string is a real, empty reference.
/// </summary>
internal static class SacrebleuReferences
{
    /// <summary>
    /// The references of each segment (nulls dropped, as sacrebleu's <c>_cache_references</c> does) and the
    /// <c>nrefs</c> its signature reports: the common count, or "var" when segments differ.
    /// Unlike sacrebleu, whose <c>zip</c> silently drops segments, streams of the wrong length are an error.
    /// </summary>
    public static (List<string>[] Segments, string NRefs) BySegment(
        int hypothesisCount, IReadOnlyList<IReadOnlyList<string?>> referenceStreams)
    {
        if (hypothesisCount == 0) throw new ArgumentException("no hypotheses to score");
        if (referenceStreams.Count == 0) throw new ArgumentException("no reference streams given", nameof(referenceStreams));
        for (int s = 0; s < referenceStreams.Count; s++)
            if (referenceStreams[s].Count != hypothesisCount)
                throw new ArgumentException(
                    $"reference stream {s} has {referenceStreams[s].Count} segments but there are {hypothesisCount} hypotheses",
                    nameof(referenceStreams));

        var segments = new List<string>[hypothesisCount];
        var counts = new HashSet<int>();
        for (int i = 0; i < hypothesisCount; i++)
        {
            segments[i] = [.. referenceStreams.Select(stream => stream[i]).OfType<string>()];
            if (segments[i].Count == 0)
                throw new ArgumentException($"segment {i} has no reference in any stream", nameof(referenceStreams));
            counts.Add(segments[i].Count);
        }
        return (segments, counts.Count == 1 ? counts.Single().ToString() : "var");
    }

    /// <summary>sacrebleu's <c>sentence_score</c>: each reference becomes a stream of one segment.</summary>
    public static IReadOnlyList<IReadOnlyList<string?>> OfSentence(IReadOnlyList<string> references) =>
        [.. references.Select(reference => (IReadOnlyList<string?>)[reference])];
}
