using SharpLM.Data.Dedup;

namespace SharpLM.Data.Cleaning;

/// <summary>
/// CCNet line (or paragraph) de-duplication: splitting and hashing in parallel, removing what was seen before in
/// input order. Another rank's documents are replayed from their unit hashes and lengths, rejections included (a
/// rejected document remembers nothing), so the seen-set is exactly one process's.
/// </summary>
public sealed class LineDedupStage(LineDedupOptions options) : OrderedStage
{
    readonly LineDeduplicator index = new(options);

    /// <inheritdoc/>
    public override string Name => CleaningStages.LineDedup;

    /// <inheritdoc/>
    public override void Prepare(CleaningItem item)
    {
        if (!item.Stopped) item.Lines = index.Hashes(item.Current.Text);
    }

    /// <inheritdoc/>
    public override string? Decide(CleaningItem item, CleaningReport report)
    {
        var result = index.Apply(item.Current, item.Lines!);
        if (result.Reason is not null || result.UnitsRemoved == 0) return result.Reason;
        report.DuplicateLinesRemoved += result.UnitsRemoved;
        item.Current = result.Kept!;
        item.Bytes -= result.BytesRemoved;
        item.RedactionStale = true;
        return null;
    }

    /// <inheritdoc/>
    public override void WriteKey(CleaningItem item, BinaryWriter writer)
    {
        var units = item.Lines!.Units;
        writer.Write(units.Count);
        foreach (var unit in units)
        {
            writer.Write(unit.NormalizedLength);
            writer.Write(unit.Hash);
        }
    }

    /// <inheritdoc/>
    public override bool Replay(string id, BinaryReader reader)
    {
        var units = new LineUnit[reader.ReadInt32()];
        for (int i = 0; i < units.Length; i++)
        {
            int length = reader.ReadInt32();
            units[i] = new LineUnit(0, 0, length, reader.ReadUInt64());
        }
        return !index.Remember(units).Rejected;
    }
}
