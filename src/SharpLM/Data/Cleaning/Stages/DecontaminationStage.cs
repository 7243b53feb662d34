using SharpLM.Data.Dedup;

namespace SharpLM.Data.Cleaning;

/// <summary>Drops documents that share an n-gram with an evaluation set: the check is per document, so it is all parallel half.</summary>
public sealed class DecontaminationStage(Decontaminator decontaminator) : CleaningStage
{
    /// <inheritdoc/>
    public override string Name => CleaningStages.Decontamination;

    /// <inheritdoc/>
    public override void Prepare(CleaningItem item)
    {
        if (item.Stopped) return;
        item.Contamination = decontaminator.Check(item.Current.Text);
        if (item.Contamination is not null) item.Stopped = true;
    }

    /// <inheritdoc/>
    public override string? Decide(CleaningItem item, CleaningReport report)
    {
        if (item.Contamination is not { } hit) return null;
        report.ContaminationByBenchmark[hit.Benchmark] = report.ContaminationByBenchmark.GetValueOrDefault(hit.Benchmark) + 1;
        return $"contaminated_{hit.Benchmark}";
    }
}
