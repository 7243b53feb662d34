namespace SharpLM.Data.Privacy;

/// <summary>One piece of PII found in a text: its type, where it is (UTF-16 offsets), and the matched characters.</summary>
public sealed record PiiMatch(PiiType Type, int Start, int Length, string Value)
{
    public int End => Start + Length;
}
