using System.Diagnostics;

namespace SharpLM.Inference.Batching;

/// <summary>
/// What a <see cref="ContinuousBatcher"/> has done, for monitoring: counters only grow (Prometheus computes rates
/// from them), gauges say how things stand now. Written by the batcher's thread, read from any other.
/// </summary>
public sealed class BatcherMetrics
{
    long submitted, prefillTokens, generatedTokens, steps, batchedRows, stepTicks;
    int active, waiting;
    readonly Dictionary<string, long> finished = new(StringComparer.Ordinal);
    readonly object gate = new();
    // A short window of (time, generated total) samples for the current generation rate.
    readonly Queue<(long Ticks, long Tokens)> recent = new();

    /// <summary>Requests that entered the batcher.</summary>
    public long Requests => Interlocked.Read(ref submitted);
    /// <summary>Prompt tokens fed.</summary>
    public long PromptTokens => Interlocked.Read(ref prefillTokens);
    /// <summary>Tokens generated.</summary>
    public long GeneratedTokens => Interlocked.Read(ref generatedTokens);
    /// <summary>Steps that advanced at least one sequence.</summary>
    public long Steps => Interlocked.Read(ref steps);
    /// <summary>Sum over steps of the sequences decoded in one pass: divided by <see cref="Steps"/>, the mean batch.</summary>
    public long BatchedRows => Interlocked.Read(ref batchedRows);
    /// <summary>Time spent in steps.</summary>
    public TimeSpan StepTime => TimeSpan.FromTicks(Interlocked.Read(ref stepTicks));
    /// <summary>Sequences in the batch now.</summary>
    public int Active => Volatile.Read(ref active);
    /// <summary>Requests waiting for a slot now.</summary>
    public int Waiting => Volatile.Read(ref waiting);

    /// <summary>Requests that ended, by reason: stop, length, cancelled, error.</summary>
    public IReadOnlyDictionary<string, long> FinishedByReason
    {
        get { lock (gate) return new Dictionary<string, long>(finished); }
    }

    /// <summary>Tokens generated per second over about the last 10 seconds.</summary>
    public double TokensPerSecond
    {
        get
        {
            lock (gate)
            {
                Trim(Stopwatch.GetTimestamp());
                if (recent.Count < 2) return 0;
                var (t0, n0) = recent.Peek();
                var (t1, n1) = recent.Last();
                double seconds = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
                return seconds > 0 ? (n1 - n0) / seconds : 0;
            }
        }
    }

    internal void Submitted() => Interlocked.Increment(ref submitted);
    internal void Prefilled(int tokens) => Interlocked.Add(ref prefillTokens, tokens);
    internal void Generated() => Interlocked.Increment(ref generatedTokens);

    internal void SetQueue(int activeNow, int waitingNow)
    {
        Volatile.Write(ref active, activeNow);
        Volatile.Write(ref waiting, waitingNow);
    }

    internal void Stepped(int rows, TimeSpan elapsed)
    {
        Interlocked.Increment(ref steps);
        Interlocked.Add(ref batchedRows, rows);
        Interlocked.Add(ref stepTicks, elapsed.Ticks);
        long now = Stopwatch.GetTimestamp();
        lock (gate)
        {
            recent.Enqueue((now, GeneratedTokens));
            Trim(now);
        }
    }

    internal void Finished(string reason)
    {
        lock (gate) finished[reason] = finished.GetValueOrDefault(reason) + 1;
    }

    void Trim(long now)
    {
        while (recent.Count > 2 && now - recent.Peek().Ticks > 10 * Stopwatch.Frequency) recent.Dequeue();
    }
}
