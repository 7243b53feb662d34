namespace SharpLM.Data.Mixture;

/// <summary>
/// What one source contributes: <see cref="FullPasses"/> whole copies of itself, then one more pass keeping only
/// the documents whose <see cref="SelectionBucket"/> is below <see cref="Cutoff"/>. A down-sampled source has no
/// full pass; an up-sampled one repeats whole passes and tops up with a seeded subset.
/// <see cref="Documents"/> and <see cref="Units"/> are what the second pass will write.
/// </summary>
internal sealed record SourceQuota(long FullPasses, int Cutoff, long Documents, long Units)
{
    /// <summary>Passes that write something; the last one is partial when <see cref="Cutoff"/> is above 0.</summary>
    public long Passes => FullPasses + (Cutoff > 0 ? 1 : 0);

    /// <summary>The quota whose units come nearest <paramref name="targetUnits"/> (documents are taken whole).</summary>
    public static SourceQuota For(SourceCensus census, double targetUnits)
    {
        long fullPasses = (long)Math.Floor(targetUnits / census.Units);
        double rest = targetUnits - fullPasses * (double)census.Units;
        // The shortest prefix of buckets whose units come nearest the rest. Past the first prefix that reaches
        // the rest the miss only grows, so the scan stops there.
        int cutoff = 0;
        long units = 0, documents = 0, prefixUnits = 0, prefixDocuments = 0;
        double bestMiss = rest;
        for (int bucket = 0; bucket < SelectionBucket.Count && prefixUnits < rest; bucket++)
        {
            prefixUnits += census.BucketUnits[bucket];
            prefixDocuments += census.BucketDocuments[bucket];
            double miss = Math.Abs(prefixUnits - rest);
            if (miss < bestMiss) (bestMiss, cutoff, units, documents) = (miss, bucket + 1, prefixUnits, prefixDocuments);
        }
        return new SourceQuota(fullPasses, cutoff, fullPasses * census.Documents + documents, fullPasses * census.Units + units);
    }
}
