using System.Globalization;
using SharpLM.Data.Ingestion;
using SharpLM.Runtime;

namespace SharpLM.Data.Mixture;

/// <summary>
/// Combines sources to target proportions of bytes or tokens — the data-mixture stage that follows cleaning —
/// in two streaming passes: a census counts every source, then the chosen documents are written. A source larger
/// than its share is down-sampled by seeded buckets; a smaller one is repeated (with up-sampling) or caps the
/// mixture. Memory is a fixed histogram per source, whatever the corpus size, and a seed fixes the output bytes.
/// </summary>
public static class DataMixer
{
    /// <summary>Writes the mixture to <paramref name="output"/>; the caller commits it.</summary>
    /// <exception cref="InvalidInputException">Bad weights or names, a missing or empty source, a bad total, or a source that changed between the passes.</exception>
    public static MixtureReport Mix(IReadOnlyList<MixtureSource> sources, JsonlWriter output, MixtureOptions? options = null)
    {
        options ??= new MixtureOptions();
        Validate(sources, options);
        var reader = new CorpusReader(options.Corpus);
        var measure = options.Measure();
        var censuses = sources.Select(s => SourceCensus.Take(s, reader, measure, options.Seed)).ToArray();

        double weightSum = sources.Sum(s => s.Weight);
        double[] shares = sources.Select(s => s.Weight / weightSum).ToArray();
        // Without a total, the largest mixture that repeats nothing: the source with the fewest units per unit of
        // share gives all it has. Without up-sampling no source gives more than all it has.
        int scarcest = Enumerable.Range(0, sources.Count).MinBy(i => censuses[i].Units / shares[i]);
        double total = options.TotalUnits ?? censuses[scarcest].Units / shares[scarcest];
        var quotas = censuses.Select((census, i) =>
            SourceQuota.For(census, options.AllowUpsampling ? shares[i] * total : Math.Min(shares[i] * total, census.Units))).ToArray();

        var streams = sources.Select((s, i) => SourceStream.Read(s, quotas[i], reader, options.Seed)).ToArray();
        Write(streams, quotas, sources, output, options.Shuffle ? new SplitMix64(options.Seed) : null);
        return Report(sources, options, shares, total, censuses, quotas, options.TotalUnits is null ? sources[scarcest].Name : null);
    }

    static void Validate(IReadOnlyList<MixtureSource> sources, MixtureOptions options)
    {
        if (sources.Count == 0) throw new InvalidInputException("a mixture needs at least one source");
        foreach (var source in sources) source.Validate();
        if (sources.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new InvalidInputException($"source '{twice.Key}' is named more than once");
        if (options.TotalUnits <= 0) throw new InvalidInputException($"total {options.TotalUnits} must be positive");
    }

    /// <summary>
    /// Draws each next document's source with probability proportional to the documents it has left to write:
    /// every interleaving of the sources' streams is then equally likely, so each source is spread evenly over
    /// the output rather than bunched at its start or end. Without a generator the sources follow one another.
    /// </summary>
    static void Write(IEnumerable<Document>[] streams, SourceQuota[] quotas, IReadOnlyList<MixtureSource> sources, JsonlWriter output, SplitMix64? shuffle)
    {
        var readers = streams.Select(s => s.GetEnumerator()).ToArray();
        try
        {
            long[] left = quotas.Select(q => q.Documents).ToArray();
            for (long remaining = left.Sum(); remaining > 0; remaining--)
            {
                long draw = shuffle?.NextLong(remaining) ?? 0;
                int i = 0;
                while (draw >= left[i]) draw -= left[i++];
                if (!readers[i].MoveNext())
                    throw InvalidInputException.ForFile(sources[i].Path, "changed while being mixed (fewer documents on the second read)");
                output.Write(readers[i].Current);
                left[i]--;
            }
        }
        finally
        {
            foreach (var reader in readers) reader.Dispose();
        }
    }

    static MixtureReport Report(IReadOnlyList<MixtureSource> sources, MixtureOptions options, double[] shares, double total,
        SourceCensus[] censuses, SourceQuota[] quotas, string? limitedBy)
    {
        long unitsWritten = quotas.Sum(q => q.Units);
        string unit = options.Unit.ToString().ToLowerInvariant();
        var lines = new List<MixtureSourceReport>();
        var warnings = new List<string>();
        for (int i = 0; i < sources.Count; i++)
        {
            var (census, quota) = (censuses[i], quotas[i]);
            double achieved = unitsWritten == 0 ? 0 : (double)quota.Units / unitsWritten;
            long target = (long)Math.Round(shares[i] * total);
            if (target > census.Units && !options.AllowUpsampling)
                warnings.Add(string.Create(CultureInfo.InvariantCulture,
                    $"source '{sources[i].Name}' has {census.Units:N0} of the {target:N0} {unit} its {shares[i] * 100:F1}% share needs: achieved {achieved * 100:F1}% (up-sampling would repeat it)"));
            lines.Add(new MixtureSourceReport
            {
                Name = sources[i].Name, Path = sources[i].Path, Weight = sources[i].Weight, TargetProportion = shares[i],
                DocumentsAvailable = census.Documents, UnitsAvailable = census.Units, BadRecords = census.BadRecords,
                TargetUnits = target, DocumentsWritten = quota.Documents, UnitsWritten = quota.Units, Passes = quota.Passes,
                Epochs = (double)quota.Units / census.Units, AchievedProportion = achieved,
            });
        }
        return new MixtureReport
        {
            Unit = unit, Seed = options.Seed, Shuffled = options.Shuffle, Upsampling = options.AllowUpsampling,
            TargetUnits = (long)Math.Round(total), LimitedBy = limitedBy,
            DocumentsWritten = quotas.Sum(q => q.Documents), UnitsWritten = unitsWritten, Sources = lines, Warnings = warnings,
        };
    }
}
