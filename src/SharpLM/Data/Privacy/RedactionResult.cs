namespace SharpLM.Data.Privacy;

/// <summary>
/// A redacted text and how many matches of each type were replaced. <see cref="Counts"/> holds only the types
/// that occurred; <see cref="Count"/> answers 0 for the rest.
/// </summary>
/// <param name="Text">The text with placeholders in place of the matches.</param>
/// <param name="Counts">Replacements by type, for the types that occurred.</param>
public sealed record RedactionResult(string Text, IReadOnlyDictionary<PiiType, int> Counts)
{
    /// <summary>Matches of <paramref name="type"/> replaced; 0 when none.</summary>
    public int Count(PiiType type) => Counts.GetValueOrDefault(type);

    /// <summary>Matches replaced, over all types.</summary>
    public int Total => Counts.Values.Sum();
}
