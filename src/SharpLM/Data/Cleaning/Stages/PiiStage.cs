using System.Text;
using SharpLM.Data.Privacy;

namespace SharpLM.Data.Cleaning;

/// <summary>PII redaction: done in parallel, and redone in order only for the rare document line dedup rewrote.</summary>
public sealed class PiiStage(PiiOptions options) : CleaningStage
{
    readonly PiiRedactor redactor = new(options);

    /// <inheritdoc/>
    public override string Name => CleaningStages.Pii;

    /// <inheritdoc/>
    public override void Prepare(CleaningItem item)
    {
        if (item.Stopped) return;
        var redaction = redactor.Redact(item.Current.Text);
        item.Redacted = redaction is { Total: > 0 } ? redaction : null;
    }

    /// <inheritdoc/>
    public override string? Decide(CleaningItem item, CleaningReport report)
    {
        var redaction = item.Redacted;
        // The parallel redaction was of the text before line dedup removed lines from it.
        if (redaction is not null && item.RedactionStale) redaction = redactor.Redact(item.Current.Text);
        if (redaction is not { Total: > 0 }) return null;
        item.Current = item.Current with { Text = redaction.Text };
        foreach (var (type, count) in redaction.Counts)
            report.PiiRedactions[type.ToString()] = report.PiiRedactions.GetValueOrDefault(type.ToString()) + count;
        item.Bytes = Encoding.UTF8.GetByteCount(item.Current.Text);
        return null;
    }
}
