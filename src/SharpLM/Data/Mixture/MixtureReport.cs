namespace SharpLM.Data.Mixture;

/// <summary>mixture_report.json: what a mix aimed for and what it wrote.</summary>
public sealed record MixtureReport
{
    /// <summary>"bytes" or "tokens".</summary>
    public required string Unit { get; init; }
    public required ulong Seed { get; init; }
    public required bool Shuffled { get; init; }
    public required bool Upsampling { get; init; }
    /// <summary>The size aimed for: the requested total, or the largest without repetition.</summary>
    public required long TargetUnits { get; init; }
    /// <summary>Without a requested total, the source that set the size by contributing all it has.</summary>
    public string? LimitedBy { get; init; }
    public required long DocumentsWritten { get; init; }
    public required long UnitsWritten { get; init; }
    public required IReadOnlyList<MixtureSourceReport> Sources { get; init; }
    /// <summary>Sources that fell short of their share (only without up-sampling), one line each.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }
}

/// <summary>One source's line of the report.</summary>
public sealed record MixtureSourceReport
{
    public required string Name { get; init; }
    public required string Path { get; init; }
    public required double Weight { get; init; }
    /// <summary>Weight divided by the sum of weights.</summary>
    public required double TargetProportion { get; init; }
    public required long DocumentsAvailable { get; init; }
    public required long UnitsAvailable { get; init; }
    /// <summary>Records the reader could not turn into documents; they are in neither count.</summary>
    public required long BadRecords { get; init; }
    public required long TargetUnits { get; init; }
    public required long DocumentsWritten { get; init; }
    public required long UnitsWritten { get; init; }
    /// <summary>Passes over the source that wrote something (ids carry #r2, #r3, … from the second on).</summary>
    public required long Passes { get; init; }
    /// <summary>Units written over units available: below 1 down-sampled, above 1 up-sampled.</summary>
    public required double Epochs { get; init; }
    /// <summary>Units written over all units written.</summary>
    public required double AchievedProportion { get; init; }
}
