namespace SharpLM.Data.Privacy;

/// <summary>One piece of PII found in a text: its type, where it is (UTF-16 offsets), and the matched characters.</summary>
/// <param name="Type">What kind of PII it is.</param>
/// <param name="Start">UTF-16 offset of the first matched character.</param>
/// <param name="Length">Number of UTF-16 units matched.</param>
/// <param name="Value">The matched characters.</param>
public sealed record PiiMatch(PiiType Type, int Start, int Length, string Value)
{
    /// <summary>UTF-16 offset just past the match.</summary>
    public int End => Start + Length;
}
