using SharpLM.Data.Ingestion;

namespace SharpLM.Data.Mixture;

/// <summary>
/// The first pass over one source: its documents, units and bad records, and how its units spread over the
/// <see cref="SelectionBucket"/>s. The spread lets <see cref="SourceQuota"/> pick a sample of a given size
/// without holding a single document: memory is two fixed arrays whatever the corpus size.
/// </summary>
internal sealed class SourceCensus
{
    public long Documents { get; private set; }
    public long Units { get; private set; }
    public long BadRecords { get; private set; }
    public long[] BucketDocuments { get; } = new long[SelectionBucket.Count];
    public long[] BucketUnits { get; } = new long[SelectionBucket.Count];

    /// <exception cref="InvalidInputException">The path names nothing, or nothing in it measures a unit.</exception>
    public static SourceCensus Take(MixtureSource source, CorpusReader reader, Func<string, long> measure, ulong seed)
    {
        var census = new SourceCensus();
        foreach (var document in reader.Read(source.Path, _ => census.BadRecords++))
        {
            long units = measure(document.Text);
            int bucket = SelectionBucket.Of(seed, source.Name, document.Id);
            census.Documents++;
            census.Units += units;
            census.BucketDocuments[bucket]++;
            census.BucketUnits[bucket] += units;
        }
        if (census.Units == 0)
            throw InvalidInputException.ForFile(source.Path, $"source '{source.Name}' has no usable documents ({census.BadRecords:N0} bad records)");
        return census;
    }
}
