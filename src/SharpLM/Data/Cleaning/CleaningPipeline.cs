using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using SharpLM.Data.Dedup;
using SharpLM.Data.Ingestion;
using SharpLM.Data.Privacy;

namespace SharpLM.Data.Cleaning;

/// <summary>The stages of a cleaning run, in the survey's order: quality filtering → de-duplication → privacy.</summary>
public sealed record CleaningPipelineOptions
{
    /// <summary>Quality filters, run in this order; a document stops at the first that rejects it. Empty by default.</summary>
    public IReadOnlyList<IDocumentFilter> Filters { get; init; } = Array.Empty<IDocumentFilter>();
    /// <summary>Drops documents that share text with evaluation sets; null (the default) turns it off.</summary>
    public Decontaminator? Decontaminator { get; init; }
    /// <summary>Drops documents whose normalized text equals an earlier document's; on by default.</summary>
    public bool ExactDedup { get; init; } = true;
    /// <summary>Near-duplicate removal; null turns it off.</summary>
    public MinHashOptions? MinHash { get; init; } = new();
    /// <summary>CCNet-style removal of lines (or paragraphs) seen in earlier documents; null (the default) turns it off.</summary>
    public LineDedupOptions? LineDedup { get; init; }
    /// <summary>PII redaction; null turns it off.</summary>
    public PiiOptions? Pii { get; init; } = new();
    /// <summary>Cores for the parallel stages; 0 (the default) means all.</summary>
    public int Threads { get; init; }
    /// <summary>Documents read, filtered and hashed in parallel at a time: bounds memory besides the dedup index.</summary>
    public int BatchSize { get; init; } = 2048;
}

/// <summary>Counts of one stage: documents and UTF-8 bytes in and out, and rejections by reason.</summary>
[System.Text.Json.Serialization.JsonObjectCreationHandling(System.Text.Json.Serialization.JsonObjectCreationHandling.Populate)] // read back when MPI ranks merge reports
public sealed class StageReport
{
    /// <summary>Documents that reached the stage.</summary>
    public long DocumentsIn { get; set; }
    /// <summary>Documents the stage passed on.</summary>
    public long DocumentsOut { get; set; }
    /// <summary>UTF-8 bytes of the text that reached the stage.</summary>
    public long BytesIn { get; set; }
    /// <summary>UTF-8 bytes of the text passed on; less than what came in when the stage rejects or shortens documents.</summary>
    public long BytesOut { get; set; }
    /// <summary>Documents rejected, by reason (e.g. "gopher_too_few_words").</summary>
    public SortedDictionary<string, long> Rejected { get; } = new(StringComparer.Ordinal);
    /// <summary>UTF-8 bytes of the documents rejected, by reason.</summary>
    public SortedDictionary<string, long> RejectedBytes { get; } = new(StringComparer.Ordinal);

    internal void Reject(string reason, long bytes)
    {
        Rejected[reason] = Rejected.GetValueOrDefault(reason) + 1;
        RejectedBytes[reason] = RejectedBytes.GetValueOrDefault(reason) + bytes;
    }
}

/// <summary>report.json of a cleaning run.</summary>
[System.Text.Json.Serialization.JsonObjectCreationHandling(System.Text.Json.Serialization.JsonObjectCreationHandling.Populate)] // read back when MPI ranks merge reports
public sealed class CleaningReport
{
    /// <summary>The counts of each stage that ran, by stage name ("c4", "exact_dedup", "pii", …).</summary>
    public SortedDictionary<string, StageReport> Stages { get; } = new(StringComparer.Ordinal);
    /// <summary>Stage names in the order the documents passed through them.</summary>
    public List<string> StageOrder { get; } = new();
    /// <summary>Input records that could not be read as documents (malformed JSON, invalid UTF-8, …).</summary>
    public long BadRecords { get; set; }
    /// <summary>The first 20 bad records, with where and why, to start a diagnosis from.</summary>
    public List<BadRecord> FirstBadRecords { get; } = new();
    /// <summary>Redactions made in kept documents, by PII type ("Email", "Phone", …).</summary>
    public SortedDictionary<string, long> PiiRedactions { get; } = new(StringComparer.Ordinal);
    /// <summary>Lines (or paragraphs) removed by line-level de-duplication from documents that were kept.</summary>
    public long DuplicateLinesRemoved { get; set; }
    /// <summary>Kept document id → ids of the near-duplicates removed in its favour (clusters with duplicates only).</summary>
    public Dictionary<string, List<string>> NearDuplicateClusters { get; set; } = new();
    /// <summary>Documents dropped as contaminated, by benchmark name.</summary>
    public Dictionary<string, long> ContaminationByBenchmark { get; } = new();
    /// <summary>The MinHash LSH banding and its error rates at the threshold, in words; null when near-dedup is off.</summary>
    public string? Lsh { get; set; }
    /// <summary>Wall-clock time of the run, in seconds.</summary>
    public double Seconds { get; set; }
    /// <summary>Input documents handled per second of wall-clock time.</summary>
    public double DocumentsPerSecond { get; set; }
    /// <summary>Input text handled per second, in MB (10^6 bytes) of UTF-8.</summary>
    public double MegabytesPerSecond { get; set; }
    /// <summary>The process's peak working set, in MB (10^6 bytes).</summary>
    public double PeakWorkingSetMb { get; set; }

    internal StageReport Stage(string name)
    {
        if (!Stages.TryGetValue(name, out var s)) { Stages[name] = s = new StageReport(); StageOrder.Add(name); }
        return s;
    }
}

/// <summary>
/// Streams a corpus through the cleaning stages (datatrove-style blocks over one document type). Batches of
/// documents are filtered, checked for contamination, redacted and MinHashed on every core; de-duplication then
/// walks each batch in input order, so the output is the same for any thread count and an interrupted run can be
/// repeated to the same bytes. Memory is one batch plus the dedup indexes.
/// </summary>
public sealed class CleaningPipeline
{
    readonly CleaningPipelineOptions options;

    /// <summary>A pipeline running the stages of <paramref name="options"/>.</summary>
    public CleaningPipeline(CleaningPipelineOptions options) => this.options = options;

    /// <summary>Runs the pipeline; <paramref name="progress"/> gets (documents, text bytes) handled so far after each batch is written.</summary>
    public CleaningReport Run(IEnumerable<Document> documents, JsonlWriter kept, JsonlWriter? rejected, Func<List<BadRecord>>? badRecords = null,
        Action<long, long>? progress = null)
    {
        var report = new CleaningReport();
        var timer = Stopwatch.StartNew();
        var stages = CleaningStages.Build(options);
        var minhash = stages.OfType<MinHashDedupStage>().FirstOrDefault();
        report.Lsh = minhash?.Describe();
        int threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        long docsRead = 0, bytesRead = 0;

        // Three stages overlap: reading and parsing (one thread), per-document work (every core, a batch at a time),
        // and the order-dependent decisions plus writing (one thread). At most two batches wait between stages,
        // so memory stays bounded; the batch order is the input order, so the output does not depend on timing.
        using var stop = new CancellationTokenSource();
        using var batches = new BlockingCollection<Document[]>(boundedCapacity: 2);
        using var processed = new BlockingCollection<CleaningItem[]>(boundedCapacity: 2);
        var producer = Task.Run(() =>
        {
            try { foreach (var b in documents.Chunk(options.BatchSize)) batches.Add(b, stop.Token); }
            finally { batches.CompleteAdding(); }
        });
        var consumer = Task.Run(() =>
        {
            try
            {
                foreach (var batch in processed.GetConsumingEnumerable())
                {
                    foreach (var item in batch)
                    {
                        docsRead++;
                        bytesRead += item.BytesIn;
                        if (Decide(stages, item, report) is string reason)
                        {
                            rejected?.Write(item.Original, new Dictionary<string, string> { ["reason"] = reason });
                            continue;
                        }
                        kept.Write(item.Current);
                    }
                    progress?.Invoke(docsRead, bytesRead);
                }
            }
            catch
            {
                stop.Cancel(); // a failed write stops reading and processing too
                throw;
            }
        });
        try
        {
            foreach (var batch in batches.GetConsumingEnumerable(stop.Token))
            {
                var items = new CleaningItem[batch.Length];
                Parallel.For(0, batch.Length, new ParallelOptions { MaxDegreeOfParallelism = threads },
                    i => items[i] = Prepare(stages, batch[i]));
                processed.Add(items, stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        catch
        {
            // Processing failed: stop the other two stages and let them end before the writers are disposed.
            stop.Cancel();
            processed.CompleteAdding();
            try { Task.WaitAll(consumer, producer); } catch (AggregateException) { }
            throw;
        }
        finally
        {
            if (!processed.IsAddingCompleted) processed.CompleteAdding();
            stop.Cancel(); // unblocks the reader if processing failed; after a normal end it has finished already
        }
        consumer.GetAwaiter().GetResult(); // rethrows a writer failure
        try { producer.GetAwaiter().GetResult(); } // rethrows a reader failure
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        if (badRecords is not null)
        {
            var bad = badRecords();
            report.BadRecords = bad.Count;
            report.FirstBadRecords.AddRange(bad.Take(20));
        }
        if (minhash is not null) report.NearDuplicateClusters = minhash.Clusters.ToDictionary(kv => kv.Key, kv => kv.Value);
        report.Seconds = Math.Round(timer.Elapsed.TotalSeconds, 3);
        report.DocumentsPerSecond = Math.Round(docsRead / Math.Max(1e-9, timer.Elapsed.TotalSeconds), 1);
        report.MegabytesPerSecond = Math.Round(bytesRead / 1e6 / Math.Max(1e-9, timer.Elapsed.TotalSeconds), 2);
        report.PeakWorkingSetMb = Math.Round(System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / 1e6, 1);
        return report;
    }

    /// <summary>The parallel halves of every stage for one document: thread-safe, needs no other document.</summary>
    internal static CleaningItem Prepare(IReadOnlyList<CleaningStage> stages, Document document)
    {
        var item = new CleaningItem(document, stages.Count);
        foreach (var stage in stages) stage.Prepare(item);
        return item;
    }

    /// <summary>
    /// The ordered halves, called once per document in input order: counts the document into each stage it reaches
    /// and returns the reason it was rejected, or null when <see cref="CleaningItem.Current"/> is to be written.
    /// </summary>
    internal static string? Decide(IReadOnlyList<CleaningStage> stages, CleaningItem item, CleaningReport report)
    {
        foreach (var stage in stages)
        {
            var s = report.Stage(stage.Name);
            long bytesIn = item.Bytes;
            s.DocumentsIn++;
            s.BytesIn += bytesIn;
            if (stage.Decide(item, report) is string reason)
            {
                s.Reject(reason, bytesIn);
                return reason;
            }
            s.DocumentsOut++;
            s.BytesOut += item.Bytes;
        }
        return null;
    }
}
