namespace SharpLM.Data.Privacy;

/// <summary>
/// A validated match before overlap resolution. It carries no copy of the text, so that the redactor, which only
/// needs positions, allocates nothing per match beyond the output it builds.
/// </summary>
readonly record struct PiiCandidate(PiiType Type, int Start, int Length)
{
    public int End => Start + Length;

    /// <summary>Adds to a list created on first use: text without PII then costs no allocation at all.</summary>
    public static void Add(ref List<PiiCandidate>? found, PiiType type, int start, int length) =>
        (found ??= []).Add(new PiiCandidate(type, start, length));
}
