using SharpLM.Data.Dedup;

namespace SharpLM.Data.Cleaning;

/// <summary>Exact de-duplication: the normalised-text hash in parallel, the first-seen check in input order.</summary>
public sealed class ExactDedupStage : OrderedStage
{
    readonly ExactDeduplicator index = new();

    /// <summary>"exact_duplicate": the reason a dropped copy gets.</summary>
    public const string Reason = "exact_duplicate";

    /// <inheritdoc/>
    public override string Name => CleaningStages.ExactDedup;

    /// <inheritdoc/>
    public override void Prepare(CleaningItem item)
    {
        if (!item.Stopped) item.ExactKey = ExactDeduplicator.Key(item.Current.Text);
    }

    /// <inheritdoc/>
    public override string? Decide(CleaningItem item, CleaningReport report) => index.Add(item.Current.Id, item.ExactKey) is null ? null : Reason;

    /// <inheritdoc/>
    public override void WriteKey(CleaningItem item, BinaryWriter writer) => writer.Write(item.ExactKey);

    /// <inheritdoc/>
    public override bool Replay(string id, BinaryReader reader) => index.Add(id, reader.ReadUInt128()) is null;
}

static class BinaryKeys
{
    public static void Write(this BinaryWriter writer, UInt128 value)
    {
        writer.Write((ulong)(value >> 64));
        writer.Write((ulong)value);
    }

    public static UInt128 ReadUInt128(this BinaryReader reader)
    {
        ulong upper = reader.ReadUInt64();
        return new UInt128(upper, reader.ReadUInt64());
    }
}
