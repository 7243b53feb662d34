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
        var exact = options.ExactDedup ? new ExactDeduplicator() : null;
        var minhash = options.MinHash is null ? null : new MinHashDeduplicator(options.MinHash);
        var redactor = options.Pii is null ? null : new PiiRedactor(options.Pii);
        var lines = options.LineDedup is null ? null : new LineDeduplicator(options.LineDedup);
        if (minhash is not null) report.Lsh = $"{minhash.Lsh.Bands} bands x {minhash.Lsh.Rows} rows: false-positive rate {minhash.Lsh.FalsePositiveRate(options.MinHash!.Threshold):P2}, false-negative rate {minhash.Lsh.FalseNegativeRate(options.MinHash.Threshold):P2} before verification";
        int threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        long docsRead = 0, bytesRead = 0;

        // Three stages overlap: reading and parsing (one thread), per-document work (every core, a batch at a time),
        // and the order-dependent decisions plus writing (one thread). At most two batches wait between stages,
        // so memory stays bounded; the batch order is the input order, so the output does not depend on timing.
        using var stop = new CancellationTokenSource();
        using var batches = new BlockingCollection<Document[]>(boundedCapacity: 2);
        using var processed = new BlockingCollection<(Document[] Batch, Processed[] Results)>(boundedCapacity: 2);
        var producer = Task.Run(() =>
        {
            try { foreach (var b in documents.Chunk(options.BatchSize)) batches.Add(b, stop.Token); }
            finally { batches.CompleteAdding(); }
        });
        var consumer = Task.Run(() =>
        {
            try
            {
                foreach (var (batch, results) in processed.GetConsumingEnumerable())
                {
                    for (int i = 0; i < batch.Length; i++)
                    {
                        var r = results[i];
                        docsRead++;
                        bytesRead += r.BytesIn;
                        var document = Account(report, r, options.Decontaminator is not null, exact, minhash, lines, redactor, out string? reason);
                        if (document is null)
                        {
                            rejected?.Write(batch[i], new Dictionary<string, string> { ["reason"] = reason! });
                            continue;
                        }
                        kept.Write(document);
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
                var results = new Processed[batch.Length];
                Parallel.For(0, batch.Length, new ParallelOptions { MaxDegreeOfParallelism = threads },
                    i => results[i] = Process(batch[i], redactor, minhash, lines));
                processed.Add((batch, results), stop.Token);
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

    /// <summary>What the parallel part found out about one document.</summary>
    /// <param name="BytesIn">UTF-8 bytes of the document as read.</param>
    /// <param name="Filters">Each filter stage it passed through: bytes out, and the reject reason where it was dropped.</param>
    /// <param name="Document">The document after the filters (before redaction), what the dedup keys describe.</param>
    /// <param name="Contamination">The evaluation item it overlaps, when decontamination flagged it.</param>
    /// <param name="Signature">Its MinHash signature (near-duplicate dedup only).</param>
    /// <param name="Redacted">The redaction of <paramref name="Document"/>, or null when it had no PII.</param>
    /// <param name="ExactKey">128-bit hash of its normalised text (exact dedup).</param>
    /// <param name="Lines">Hashes of its lines or paragraphs (line-level dedup only).</param>
    sealed record Processed(long BytesIn, List<(string Stage, long BytesOut, string? Reason)> Filters, Document? Document,
        ContaminationHit? Contamination, uint[]? Signature = null, RedactionResult? Redacted = null, UInt128 ExactKey = default, LineHashes? Lines = null);

    Processed Process(Document document, PiiRedactor? redactor, MinHashDeduplicator? minhash, LineDeduplicator? lines)
    {
        long bytesIn = Encoding.UTF8.GetByteCount(document.Text);
        var trail = new List<(string, long, string?)>();
        Document? current = document;
        foreach (var filter in options.Filters)
        {
            var result = filter.Apply(current);
            trail.Add((filter.Name, result.Kept is null ? 0 : Encoding.UTF8.GetByteCount(result.Kept.Text), result.Reason));
            if (result.Kept is null) return new Processed(bytesIn, trail, null, null, null, null);
            current = result.Kept;
        }
        var contamination = options.Decontaminator?.Check(current.Text);
        if (contamination is not null) return new Processed(bytesIn, trail, current, contamination);
        var signature = minhash?.Signature(current.Text);
        UInt128 exactKey = options.ExactDedup ? ExactDeduplicator.Key(current.Text) : default;
        var redaction = redactor?.Redact(current.Text);
        return new Processed(bytesIn, trail, current, null, signature, redaction is { Total: > 0 } ? redaction : null, exactKey, lines?.Hashes(current.Text));
    }

    /// <summary>
    /// Updates the report in input order and makes the order-dependent decisions (dedup); returns the document to
    /// write, or null with the rejection reason.
    /// </summary>
    static Document? Account(CleaningReport report, Processed r, bool decontaminate, ExactDeduplicator? exact, MinHashDeduplicator? minhash,
        LineDeduplicator? lines, PiiRedactor? redactor, out string? reason)
    {
        long bytes = r.BytesIn;
        foreach (var (stage, bytesOut, why) in r.Filters)
        {
            var s = report.Stage(stage);
            s.DocumentsIn++;
            s.BytesIn += bytes;
            if (why is not null)
            {
                s.Reject(why, bytes);
                reason = why;
                return null;
            }
            s.DocumentsOut++;
            s.BytesOut += bytesOut;
            bytes = bytesOut;
        }
        var doc = r.Document!;
        if (decontaminate && !Pass(report, "decontamination", bytes, bytes, r.Contamination is null ? null : $"contaminated_{r.Contamination.Benchmark}", out reason))
        {
            report.ContaminationByBenchmark[r.Contamination!.Benchmark] = report.ContaminationByBenchmark.GetValueOrDefault(r.Contamination.Benchmark) + 1;
            return null;
        }
        if (exact is not null && !Pass(report, "exact_dedup", bytes, bytes, exact.Add(doc.Id, r.ExactKey) is null ? null : "exact_duplicate", out reason)) return null;
        if (minhash is not null && !Pass(report, "minhash_dedup", bytes, bytes, minhash.Add(doc.Id, r.Signature!).IsDuplicate ? "near_duplicate" : null, out reason)) return null;
        var redaction = r.Redacted;
        if (lines is not null)
        {
            var result = lines.Apply(doc, r.Lines!);
            if (!Pass(report, "line_dedup", bytes, bytes - result.BytesRemoved, result.Reason, out reason)) return null;
            if (result.UnitsRemoved > 0)
            {
                report.DuplicateLinesRemoved += result.UnitsRemoved;
                doc = result.Kept!;
                bytes -= result.BytesRemoved;
                // Rare (only documents that lost lines): the parallel redaction was of the text before removal.
                if (redaction is not null) redaction = redactor!.Redact(doc.Text);
            }
        }
        if (redactor is not null)
        {
            if (redaction is { Total: > 0 })
            {
                doc = doc with { Text = redaction.Text };
                foreach (var (type, count) in redaction.Counts)
                    report.PiiRedactions[type.ToString()] = report.PiiRedactions.GetValueOrDefault(type.ToString()) + count;
            }
            var s = report.Stage("pii");
            s.DocumentsIn++;
            s.DocumentsOut++;
            s.BytesIn += bytes;
            s.BytesOut += redaction is { Total: > 0 } ? Encoding.UTF8.GetByteCount(doc.Text) : bytes;
        }
        reason = null;
        return doc;
    }

    static bool Pass(CleaningReport report, string stage, long bytesIn, long bytesOut, string? why, out string? reason)
    {
        var s = report.Stage(stage);
        s.DocumentsIn++;
        s.BytesIn += bytesIn;
        reason = why;
        if (why is not null)
        {
            s.Reject(why, bytesIn);
            return false;
        }
        s.DocumentsOut++;
        s.BytesOut += bytesOut;
        return true;
    }
}
