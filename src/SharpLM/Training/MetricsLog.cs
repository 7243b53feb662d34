using System.Text.Json;
using SharpLM.Runtime;

namespace SharpLM.Training;

/// <summary>
/// metrics.jsonl: one JSON object per line (steps, evaluations, rollbacks). Flushed per line so a killed run keeps
/// what it logged; a resumed or rolled-back run truncates it to the length its checkpoint recorded, so no step
/// appears twice (a rollback leaves one rollback record in place of the steps it undid).
/// </summary>
public sealed class MetricsLog : IDisposable
{
    /// <summary>The log's file name in the run directory.</summary>
    public const string FileName = "metrics.jsonl";
    readonly FileStream stream;

    /// <summary>Opens <c>dir/metrics.jsonl</c> for appending.</summary>
    /// <param name="dir">The run directory.</param>
    /// <param name="truncateTo">A resumed run's recorded length: the file is cut to it and extended; null starts a new,
    /// empty file.</param>
    public MetricsLog(string dir, long? truncateTo)
    {
        string path = Path.Combine(dir, FileName);
        stream = new FileStream(path, truncateTo is null ? FileMode.Create : FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        if (truncateTo is long length)
        {
            stream.SetLength(Math.Min(length, stream.Length));
            stream.Position = stream.Length;
        }
    }

    /// <summary>Bytes written so far, the value a checkpoint records for resuming.</summary>
    public long Length => stream.Position;

    /// <summary>Drops everything after <paramref name="length"/> bytes (a rollback forgets the steps it undid).</summary>
    public void TruncateTo(long length)
    {
        stream.SetLength(Math.Min(length, stream.Length));
        stream.Position = stream.Length;
    }

    /// <summary>Appends <paramref name="record"/> as one JSON line (snake_case names) and flushes it.</summary>
    public void Write(object record)
    {
        byte[] line = JsonSerializer.SerializeToUtf8Bytes(record, record.GetType(), Json.Line);
        stream.Write(line);
        stream.WriteByte((byte)'\n');
        stream.Flush();
    }

    /// <summary>Reads every step and evaluation back (for plots and tests).</summary>
    public static (List<StepRecord> Steps, List<EvalRecord> Evals) Read(string dir)
    {
        var steps = new List<StepRecord>();
        var evals = new List<EvalRecord>();
        foreach (string line in File.ReadLines(Path.Combine(dir, FileName)))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.TryGetProperty("val_loss", out _)) evals.Add(root.Deserialize<EvalRecord>(Json.Options)!);
            else if (root.TryGetProperty("ms_per_iter", out _)) steps.Add(root.Deserialize<StepRecord>(Json.Options)!);
        }
        return (steps, evals);
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => stream.Dispose();
}
