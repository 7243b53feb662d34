using SharpLM.Data.Dedup;

namespace SharpLM.Data.Cleaning;

/// <summary>
/// MinHash-LSH near-duplicate removal: signatures in parallel, the LSH lookup and clustering in input order.
/// Another rank's documents are replayed from their signatures, so the clusters (and which copy is kept) are the
/// same as one process would find.
/// </summary>
public sealed class MinHashDedupStage(MinHashOptions options) : OrderedStage
{
    readonly MinHashDeduplicator index = new(options);

    /// <summary>"near_duplicate": the reason a dropped near-copy gets.</summary>
    public const string Reason = "near_duplicate";

    /// <inheritdoc/>
    public override string Name => CleaningStages.MinHashDedup;

    /// <summary>The banding in use, with its error rates at the threshold, in words (report.json's "lsh").</summary>
    public string Describe() => $"{index.Lsh.Bands} bands x {index.Lsh.Rows} rows: false-positive rate {index.Lsh.FalsePositiveRate(options.Threshold):P2}, false-negative rate {index.Lsh.FalseNegativeRate(options.Threshold):P2} before verification";

    /// <summary>Kept document id → the ids removed in its favour, over every document indexed so far (replayed ones included).</summary>
    public IReadOnlyDictionary<string, List<string>> Clusters => index.Clusters;

    /// <inheritdoc/>
    public override void Prepare(CleaningItem item)
    {
        if (!item.Stopped) item.Signature = index.Signature(item.Current.Text);
    }

    /// <inheritdoc/>
    public override string? Decide(CleaningItem item, CleaningReport report) => index.Add(item.Current.Id, item.Signature!).IsDuplicate ? Reason : null;

    /// <inheritdoc/>
    public override void WriteKey(CleaningItem item, BinaryWriter writer)
    {
        foreach (uint value in item.Signature!) writer.Write(value);
    }

    /// <inheritdoc/>
    public override bool Replay(string id, BinaryReader reader)
    {
        var signature = new uint[options.Permutations];
        for (int i = 0; i < signature.Length; i++) signature[i] = reader.ReadUInt32();
        return !index.Add(id, signature).IsDuplicate;
    }
}
