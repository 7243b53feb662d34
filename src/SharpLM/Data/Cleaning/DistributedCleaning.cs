using System.Diagnostics;
using System.Text.Json;
using SharpLM.Data.Ingestion;
using SharpLM.Distributed;
using SharpLM.Runtime;

namespace SharpLM.Data.Cleaning;

/// <summary>
/// A cleaning run split over MPI ranks (`mpirun -np N sharplm data clean …`) whose output is byte for byte one
/// process's. Rank 0 counts the documents; each rank takes a contiguous range of them and runs the stages'
/// parallel halves on it. Then every rank sends the keys the ordered halves need (exact-dedup hashes, MinHash
/// signatures, line hashes) for its documents that passed the filters and decontamination, and each rank replays the
/// ordered halves of the ranks before it from those keys: its dedup indexes are then exactly what one process
/// holds on reaching its first document, so duplicates across ranks go as they would in one pass. Finally each rank
/// sends its kept and rejected lines to rank 0, which writes them in rank order, and the report counts are summed.
/// <para>
/// The cost of exactness: a rank holds its share of the processed documents in memory until the keys arrive
/// (the whole input over the number of ranks), every rank but the first re-runs the cheap ordered halves of the
/// documents before its range, and rank 0 reads the input once more to count it.
/// </para>
/// </summary>
public sealed class DistributedCleaning(CleaningPipelineOptions options, Mpi mpi)
{
    const int KeptTag = 181, RejectedTag = 182;

    /// <summary>
    /// Runs the pipeline's part of this rank. <paramref name="read"/> opens the whole input afresh (called twice on
    /// rank 0, once elsewhere); <paramref name="kept"/> and <paramref name="rejected"/> are rank 0's writers (ignored
    /// elsewhere). Returns the whole run's report on rank 0 and this rank's part of it on the others.
    /// </summary>
    /// <param name="read">Opens the input, reporting bad records to its argument.</param>
    /// <param name="kept">Rank 0: where the kept documents go.</param>
    /// <param name="rejected">Rank 0: where rejected documents go, or null for nowhere.</param>
    /// <param name="writeRejected">Whether rejected documents are written at all (the same on every rank).</param>
    public CleaningReport Run(Func<Action<BadRecord>, IEnumerable<Document>> read, JsonlWriter? kept, JsonlWriter? rejected, bool writeRejected)
    {
        var timer = Stopwatch.StartNew();
        var stages = CleaningStages.Build(options);
        var ordered = stages.OfType<OrderedStage>().ToArray();

        // Rank 0 counts (its bad records are the run's), and every rank learns the count through a sum.
        var bad = new List<BadRecord>();
        var total = new long[] { mpi.Rank == 0 ? read(bad.Add).LongCount() : 0 };
        mpi.AllReduceSum(total);
        long first = total[0] * mpi.Rank / mpi.Size, end = total[0] * (mpi.Rank + 1) / mpi.Size;

        var items = PrepareRange(stages, Range(read(_ => { }), first, end));
        var keys = mpi.AllGatherChunks(WriteKeys(items, ordered, last: mpi.Rank == mpi.Size - 1));
        for (int rank = 0; rank < mpi.Rank; rank++) Replay(keys[rank], ordered);
        keys = null!; // the exchanged keys are the largest thing held besides the documents

        var report = new CleaningReport();
        var keptLines = new JsonlBuffer();
        var rejectedLines = writeRejected ? new JsonlBuffer() : null;
        long bytesIn = 0;
        for (int i = 0; i < items.Count; i++)
        {
            var item = items[i];
            items[i] = null!;
            bytesIn += item.BytesIn;
            if (CleaningPipeline.Decide(stages, item, report) is string reason)
                rejectedLines?.Write(item.Original, new Dictionary<string, string> { ["reason"] = reason });
            else keptLines.Write(item.Current);
        }

        var minhash = stages.OfType<MinHashDedupStage>().FirstOrDefault();
        // The last rank's index has replayed every earlier document: its clusters are the whole run's.
        if (minhash is not null && mpi.Rank == mpi.Size - 1) report.NearDuplicateClusters = minhash.Clusters.ToDictionary(kv => kv.Key, kv => kv.Value);
        var parts = mpi.AllGatherBytes(JsonSerializer.SerializeToUtf8Bytes(report, Json.Options));
        var sums = new long[] { bytesIn };
        mpi.AllReduceSum(sums);
        var peak = new double[] { Process.GetCurrentProcess().PeakWorkingSet64 / 1e6 };
        mpi.AllReduceMax(peak);

        if (mpi.Rank != 0)
        {
            Send(keptLines, KeptTag);
            if (rejectedLines is not null) Send(rejectedLines, RejectedTag);
            return report;
        }
        foreach (var (lines, documents) in keptLines.Chunks()) kept!.WriteRaw(lines, documents);
        foreach (var (lines, documents) in rejectedLines?.Chunks() ?? []) rejected?.WriteRaw(lines, documents);
        for (int rank = 1; rank < mpi.Size; rank++)
        {
            Receive(rank, KeptTag, kept!);
            if (writeRejected) Receive(rank, RejectedTag, rejected);
        }

        var merged = Merge(parts.Select(p => JsonSerializer.Deserialize<CleaningReport>(p, Json.Options)!));
        merged.Lsh = minhash?.Describe();
        merged.BadRecords = bad.Count;
        merged.FirstBadRecords.AddRange(bad.Take(20));
        double seconds = Math.Max(1e-9, timer.Elapsed.TotalSeconds);
        merged.Seconds = Math.Round(timer.Elapsed.TotalSeconds, 3);
        merged.DocumentsPerSecond = Math.Round(total[0] / seconds, 1);
        merged.MegabytesPerSecond = Math.Round(sums[0] / 1e6 / seconds, 2);
        merged.PeakWorkingSetMb = Math.Round(peak[0], 1);
        return merged;
    }

    /// <summary>Documents <paramref name="first"/> to <paramref name="end"/> (exclusive) of the input; reading stops at the end of the range.</summary>
    static IEnumerable<Document> Range(IEnumerable<Document> documents, long first, long end)
    {
        long index = 0;
        foreach (var document in documents)
        {
            if (index >= end) yield break;
            if (index++ >= first) yield return document;
        }
    }

    List<CleaningItem> PrepareRange(IReadOnlyList<CleaningStage> stages, IEnumerable<Document> documents)
    {
        // Ranks on one host share its cores.
        int threads = options.Threads > 0 ? options.Threads : Math.Max(1, Environment.ProcessorCount / Mpi.LocalSize);
        var items = new List<CleaningItem>();
        foreach (var batch in documents.Chunk(options.BatchSize))
        {
            var prepared = new CleaningItem[batch.Length];
            Parallel.For(0, batch.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, i => prepared[i] = CleaningPipeline.Prepare(stages, batch[i]));
            items.AddRange(prepared);
        }
        return items;
    }

    /// <summary>
    /// The keys of the documents that reach the ordered stages, in input order, as length-prefixed records
    /// (id, then each ordered stage's key) in chunks small enough for one all-gather round. The last rank's are
    /// needed by nobody.
    /// </summary>
    List<byte[]> WriteKeys(List<CleaningItem> items, OrderedStage[] ordered, bool last)
    {
        var chunks = new List<byte[]>();
        if (ordered.Length == 0 || last) return chunks;
        int chunkBytes = Math.Min(64 << 20, int.MaxValue / mpi.Size - (1 << 20));
        using var record = new MemoryStream();
        using var recordWriter = new BinaryWriter(record);
        var chunk = new MemoryStream();
        using var chunkWriter = new BinaryWriter(chunk);
        foreach (var item in items)
        {
            if (item.Stopped) continue;
            record.SetLength(0);
            recordWriter.Write(item.Current.Id);
            foreach (var stage in ordered) stage.WriteKey(item, recordWriter);
            recordWriter.Flush();
            if (chunk.Length > 0 && chunk.Length + record.Length + 4 > chunkBytes)
            {
                chunks.Add(chunk.ToArray());
                chunk.SetLength(0);
            }
            chunkWriter.Write(checked((int)record.Length));
            chunkWriter.Write(record.GetBuffer(), 0, (int)record.Length);
            chunkWriter.Flush();
        }
        if (chunk.Length > 0) chunks.Add(chunk.ToArray());
        return chunks;
    }

    /// <summary>Runs the ordered halves over an earlier rank's documents, from their keys, in their order.</summary>
    static void Replay(List<byte[]> chunks, OrderedStage[] ordered)
    {
        foreach (var chunk in chunks)
        {
            using var stream = new MemoryStream(chunk, writable: false);
            using var reader = new BinaryReader(stream);
            while (stream.Position < stream.Length)
            {
                int length = reader.ReadInt32();
                long next = stream.Position + length;
                string id = reader.ReadString();
                foreach (var stage in ordered)
                    if (!stage.Replay(id, reader)) break; // the document stops here, as it did on its own rank
                stream.Position = next;
            }
        }
    }

    void Send(JsonlBuffer buffer, int tag)
    {
        foreach (var (lines, documents) in buffer.Chunks())
        {
            mpi.SendBytes(BitConverter.GetBytes(documents), 0, tag);
            mpi.SendBytes(lines, 0, tag);
        }
        mpi.SendBytes(BitConverter.GetBytes(0L), 0, tag); // no more
    }

    void Receive(int rank, int tag, JsonlWriter? writer)
    {
        while (BitConverter.ToInt64(mpi.ReceiveBytes(rank, tag)) is long documents and > 0)
            writer?.WriteRaw(mpi.ReceiveBytes(rank, tag), documents);
    }

    /// <summary>
    /// The ranks' reports as one process's: counts summed, stages and benchmarks in order of first appearance (each
    /// rank's documents come after the previous rank's), clusters from the last rank, which has seen them all.
    /// </summary>
    static CleaningReport Merge(IEnumerable<CleaningReport> parts)
    {
        var merged = new CleaningReport();
        foreach (var part in parts)
        {
            foreach (string name in part.StageOrder)
            {
                var into = merged.Stage(name);
                var from = part.Stages[name];
                into.DocumentsIn += from.DocumentsIn;
                into.DocumentsOut += from.DocumentsOut;
                into.BytesIn += from.BytesIn;
                into.BytesOut += from.BytesOut;
                foreach (var (reason, count) in from.Rejected) into.Rejected[reason] = into.Rejected.GetValueOrDefault(reason) + count;
                foreach (var (reason, bytes) in from.RejectedBytes) into.RejectedBytes[reason] = into.RejectedBytes.GetValueOrDefault(reason) + bytes;
            }
            foreach (var (type, count) in part.PiiRedactions) merged.PiiRedactions[type] = merged.PiiRedactions.GetValueOrDefault(type) + count;
            foreach (var (benchmark, count) in part.ContaminationByBenchmark)
                merged.ContaminationByBenchmark[benchmark] = merged.ContaminationByBenchmark.GetValueOrDefault(benchmark) + count;
            merged.DuplicateLinesRemoved += part.DuplicateLinesRemoved;
            if (part.NearDuplicateClusters.Count > 0) merged.NearDuplicateClusters = part.NearDuplicateClusters;
        }
        return merged;
    }
}
