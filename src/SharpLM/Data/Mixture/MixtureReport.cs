namespace SharpLM.Data.Mixture;

/// <summary>mixture_report.json: what a mix aimed for and what it wrote.</summary>
public sealed record MixtureReport
{
    /// <summary>"bytes" or "tokens".</summary>
    public required string Unit { get; init; }
    /// <summary>The seed that chose the sampled documents and the interleaving.</summary>
    public required ulong Seed { get; init; }
    /// <summary>Whether the sources' documents were interleaved in random order (else written one source after another).</summary>
    public required bool Shuffled { get; init; }
    /// <summary>Whether a source smaller than its share could be repeated.</summary>
    public required bool Upsampling { get; init; }
    /// <summary>The size aimed for: the requested total, or the largest without repetition.</summary>
    public required long TargetUnits { get; init; }
    /// <summary>Without a requested total, the source that set the size by contributing all it has.</summary>
    public string? LimitedBy { get; init; }
    /// <summary>Documents in the mixture.</summary>
    public required long DocumentsWritten { get; init; }
    /// <summary>Size of the mixture, in the report's <see cref="Unit"/>.</summary>
    public required long UnitsWritten { get; init; }
    /// <summary>One entry per source, in the order given.</summary>
    public required IReadOnlyList<MixtureSourceReport> Sources { get; init; }
    /// <summary>Sources that fell short of their share (only without up-sampling), one line each.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }
}

/// <summary>One source's line of the report.</summary>
public sealed record MixtureSourceReport
{
    /// <summary>The source's name, as in the documents' <c>source</c> field.</summary>
    public required string Name { get; init; }
    /// <summary>The file, directory or glob the source was read from, as given.</summary>
    public required string Path { get; init; }
    /// <summary>The weight as given, before normalising.</summary>
    public required double Weight { get; init; }
    /// <summary>Weight divided by the sum of weights.</summary>
    public required double TargetProportion { get; init; }
    /// <summary>Documents the source holds.</summary>
    public required long DocumentsAvailable { get; init; }
    /// <summary>Size of the source, in the report's unit.</summary>
    public required long UnitsAvailable { get; init; }
    /// <summary>Records the reader could not turn into documents; they are in neither count.</summary>
    public required long BadRecords { get; init; }
    /// <summary>The source's share of the mixture's target size, in units.</summary>
    public required long TargetUnits { get; init; }
    /// <summary>Documents of this source in the mixture, repeats included.</summary>
    public required long DocumentsWritten { get; init; }
    /// <summary>Units of this source in the mixture, repeats included.</summary>
    public required long UnitsWritten { get; init; }
    /// <summary>Passes over the source that wrote something (ids carry #r2, #r3, … from the second on).</summary>
    public required long Passes { get; init; }
    /// <summary>Units written over units available: below 1 down-sampled, above 1 up-sampled.</summary>
    public required double Epochs { get; init; }
    /// <summary>Units written over all units written.</summary>
    public required double AchievedProportion { get; init; }
}
