namespace SharpLM.Data.Privacy;

/// <summary>
/// A redacted text and how many matches of each type were replaced. <see cref="Counts"/> holds only the types
/// that occurred; <see cref="Count"/> answers 0 for the rest.
/// </summary>
public sealed record RedactionResult(string Text, IReadOnlyDictionary<PiiType, int> Counts)
{
    public int Count(PiiType type) => Counts.GetValueOrDefault(type);

    public int Total => Counts.Values.Sum();
}
