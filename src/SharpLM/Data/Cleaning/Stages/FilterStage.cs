using System.Text;

namespace SharpLM.Data.Cleaning;

/// <summary>A quality filter as a stage: the whole judgement is in the parallel half; the ordered half only reports it.</summary>
public sealed class FilterStage(IDocumentFilter filter) : CleaningStage
{
    /// <summary>The filter this stage runs.</summary>
    public IDocumentFilter Filter { get; } = filter;

    /// <inheritdoc/>
    public override string Name => Filter.Name;

    /// <inheritdoc/>
    public override void Prepare(CleaningItem item)
    {
        if (item.Stopped) return;
        var result = Filter.Apply(item.Current);
        if (result.Kept is null)
        {
            item.Reasons[Index] = result.Reason;
            item.Stopped = true;
            return;
        }
        item.BytesOut[Index] = Encoding.UTF8.GetByteCount(result.Kept.Text);
        item.Current = result.Kept;
    }

    /// <inheritdoc/>
    public override string? Decide(CleaningItem item, CleaningReport report)
    {
        if (item.Reasons[Index] is string reason) return reason;
        item.Bytes = item.BytesOut[Index];
        return null;
    }
}
