using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using SharpLM.Tokenization;

namespace SharpLM.Inference.Batching;

/// <summary>
/// Continuous batching (Orca, Yu et al. 2022; vLLM): many generations share the model, each in a slot of its own
/// KV cache, and every step advances all of them by one token in one forward pass. Requests join and leave between
/// steps, so a short request never waits for a long one to finish, and prompts are fed in chunks
/// (<see cref="BatchDecoder.PrefillChunk"/> tokens per step, shared by the sequences still reading theirs) so a
/// long prompt does not stall the others' tokens.
/// <para>The model runs on one thread owned by the batcher; anything else that needs the model (scoring) runs
/// there too, between steps (<see cref="RunExclusiveAsync"/>). Each request samples with its own seeded generator
/// and its text is cut by its own stop strings, so what it receives does not depend on which requests share the
/// batch: in exact arithmetic the batched forward pass gives every row the logits it would get alone.</para>
/// </summary>
public sealed class ContinuousBatcher : IDisposable
{
    readonly BatchDecoder decoder;
    readonly ITokenizer tokenizer;
    readonly Thread thread;
    readonly object gate = new();
    readonly Queue<Sequence> incoming = new();
    readonly Queue<Action> jobs = new();
    readonly ManualResetEventSlim wake = new(false);
    readonly List<Sequence> waiting = [], active = [];
    readonly Stack<int> freeSlots;
    bool stopping;

    /// <summary>A batcher over <paramref name="decoder"/>, which it owns; its thread starts at once and sleeps while there is no work.</summary>
    public ContinuousBatcher(BatchDecoder decoder, ITokenizer tokenizer)
    {
        this.decoder = decoder;
        this.tokenizer = tokenizer;
        freeSlots = new Stack<int>(Enumerable.Range(0, decoder.Slots).Reverse());
        thread = new Thread(Loop) { IsBackground = true, Name = "sharplm-batcher" };
        thread.Start();
    }

    /// <summary>Counters for monitoring (Prometheus' /metrics); read from any thread.</summary>
    public BatcherMetrics Metrics { get; } = new();

    /// <summary>Sequences a step advances at most (the decoder's slots).</summary>
    public int MaxBatch => decoder.Slots;

    /// <summary>
    /// Generates for <paramref name="request"/> alongside every other request: the pieces arrive as the batch
    /// advances; the last carries <see cref="GenerationEnd"/>. Cancelling <paramref name="cancellation"/> takes the
    /// sequence out of the batch at the next step and frees its slot.
    /// </summary>
    /// <exception cref="InvalidInputException">The prompt is empty, or it and max_new_tokens cannot fit the context.</exception>
    public async IAsyncEnumerable<GeneratedPiece> GenerateAsync(BatchRequest request, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var sequence = Submit(request, cancellation);
        using var registration = cancellation.Register(() => wake.Set());
        await foreach (var piece in sequence.Output.Reader.ReadAllAsync(cancellation)) yield return piece;
    }

    Sequence Submit(BatchRequest request, CancellationToken cancellation)
    {
        var sampling = request.Sampling.Validate();
        if (request.Prompt.Count == 0) throw new InvalidInputException("prompt: must encode to at least one token");
        if (request.Adapter < -1 || request.Adapter >= decoder.Adapters)
            throw new InvalidInputException($"adapter {request.Adapter}: the batcher's model has {decoder.Adapters} LoRA adapters");
        if (request.TopLogprobs is < 0 or > BatchRequest.MaxTopLogprobs)
            throw new InvalidInputException($"top_logprobs {request.TopLogprobs}: must be between 0 and {BatchRequest.MaxTopLogprobs}");
        if (request.Prompt.Count >= decoder.ContextLength && sampling.MaxNewTokens > 0)
            throw new InvalidInputException($"prompt: {request.Prompt.Count} tokens leave no room in the model's {decoder.ContextLength}-token context");
        var sequence = new Sequence(request, tokenizer, Metrics, cancellation);
        if (sampling.MaxNewTokens == 0)
        {
            sequence.Finish("length", "");
            return sequence;
        }
        lock (gate)
        {
            if (stopping) throw new ObjectDisposedException(nameof(ContinuousBatcher));
            incoming.Enqueue(sequence);
            Metrics.Submitted();
        }
        wake.Set();
        return sequence;
    }

    /// <summary>Runs <paramref name="work"/> on the model's thread between two steps (scoring, for instance), so it never runs beside a step.</summary>
    public Task<T> RunExclusiveAsync<T>(Func<T> work, CancellationToken cancellation = default)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            if (stopping) throw new ObjectDisposedException(nameof(ContinuousBatcher));
            jobs.Enqueue(() =>
            {
                if (cancellation.IsCancellationRequested)
                {
                    done.TrySetCanceled(cancellation);
                    return;
                }
                try
                {
                    done.TrySetResult(work());
                }
                catch (Exception e)
                {
                    done.TrySetException(e);
                }
            });
        }
        wake.Set();
        return done.Task;
    }

    void Loop()
    {
        while (true)
        {
            wake.Reset();
            Action[] pendingJobs;
            lock (gate)
            {
                if (stopping) break;
                while (incoming.Count > 0) waiting.Add(incoming.Dequeue());
                pendingJobs = [.. jobs];
                jobs.Clear();
            }
            foreach (var job in pendingJobs) job();
            DropCancelled();
            while (freeSlots.Count > 0 && waiting.Count > 0)
            {
                var next = waiting[0];
                waiting.RemoveAt(0);
                next.Slot = freeSlots.Pop();
                decoder.Reset(next.Slot, next.Request.Adapter);
                active.Add(next);
            }
            Metrics.SetQueue(active.Count, waiting.Count);
            if (active.Count == 0)
            {
                wake.Wait();
                continue;
            }
            try
            {
                Advance();
            }
            catch (Exception e)
            {
                // A failed step fails the sequences it was advancing, not the batcher.
                foreach (var s in active) s.Fail(e);
            }
            foreach (var done in active.Where(s => s.Ended).ToList()) Release(done);
        }
        // Stopping: nobody will advance what is left.
        foreach (var s in active.Concat(waiting)) s.Fail(new OperationCanceledException("the batcher stopped"));
        active.Clear();
        waiting.Clear();
        lock (gate)
            foreach (var s in incoming) s.Fail(new OperationCanceledException("the batcher stopped"));
    }

    void DropCancelled()
    {
        foreach (var s in waiting.Where(s => s.Cancellation.IsCancellationRequested).ToList())
        {
            waiting.Remove(s);
            s.Cancel();
        }
        foreach (var s in active.Where(s => s.Cancellation.IsCancellationRequested).ToList())
        {
            s.Cancel();
            Release(s);
        }
    }

    void Release(Sequence s)
    {
        active.Remove(s);
        freeSlots.Push(s.Slot);
    }

    /// <summary>One step: up to a chunk of prompt tokens for the sequences still reading theirs, then one token for every sequence that has one to feed.</summary>
    void Advance()
    {
        var clock = Stopwatch.StartNew();
        int budget = decoder.PrefillChunk;
        foreach (var s in active.Where(s => s.Fed < s.Prompt.Count))
        {
            if (budget <= 0) break;
            int n = Math.Min(budget, s.Prompt.Count - s.Fed);
            // A decoder that reads prompts whole (PrefillChunk = int.MaxValue) takes the whole prompt here.
            float[] logits = decoder.Prefill(s.Slot, s.PromptSpan(s.Fed, n));
            s.Fed += n;
            budget -= n;
            Metrics.Prefilled(n);
            if (s.Fed == s.Prompt.Count) Next(s, logits);
        }
        // In slot order: when the slots in use are a consecutive run, the cache reads them as one view instead of a gathered copy.
        var decoding = active.Where(s => s.Pending is not null && !s.Ended).OrderBy(s => s.Slot).ToList();
        if (decoding.Count > 0)
        {
            float[][] rows = decoder.Step(decoding.Select(s => s.Slot).ToArray(), decoding.Select(s => s.Pending!.Value).ToArray());
            for (int i = 0; i < decoding.Count; i++)
            {
                decoding[i].Pending = null;
                Next(decoding[i], rows[i]);
            }
        }
        Metrics.Stepped(decoding.Count, clock.Elapsed);
    }

    /// <summary>Samples the sequence's next token from <paramref name="logits"/> and tells its reader.</summary>
    void Next(Sequence s, float[] logits)
    {
        var (logProbability, top) = s.Request.TopLogprobs is int k ? Logprobs.Of(logits, k, tokenizer) : default;
        int next = s.Sampler.Next(logits, s.Context);
        if (s.Request.StopTokens.Contains(next))
        {
            s.Finish("stop", s.Text.Flush());
            return;
        }
        s.Context.Add(next);
        s.Generated++;
        Metrics.Generated();
        var token = new GeneratedToken(next, tokenizer.Decode([next]), logProbability?[next], top);
        string piece = s.Text.Add(next);
        if (s.Text.Stopped) s.Finish("stop", piece, token);
        else if (s.Generated >= s.Request.Sampling.MaxNewTokens || s.Prompt.Count + s.Generated >= decoder.ContextLength)
            s.Finish("length", piece + s.Text.Flush(), token);
        else
        {
            s.Send(new GeneratedPiece(piece, token, null));
            s.Pending = next;
        }
    }

    /// <summary>Stops the thread; requests still running end with <see cref="OperationCanceledException"/>.</summary>
    public void Dispose()
    {
        lock (gate) stopping = true;
        wake.Set();
        thread.Join();
        decoder.Dispose();
        wake.Dispose();
    }

    /// <summary>A request inside the batcher.</summary>
    /// <remarks>How a sequence ended is counted before its reader hears of it, so a client that has its answer sees it in the metrics.</remarks>
    sealed class Sequence(BatchRequest request, ITokenizer tokenizer, BatcherMetrics metrics, CancellationToken cancellation)
    {
        readonly int[] prompt = [.. request.Prompt];

        public BatchRequest Request => request;
        public IReadOnlyList<int> Prompt => prompt;
        public CancellationToken Cancellation => cancellation;
        public Channel<GeneratedPiece> Output { get; } = Channel.CreateUnbounded<GeneratedPiece>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        public TokenSampler Sampler { get; } = new(request.Sampling);
        public StreamedText Text { get; } = new(tokenizer, request.Sampling.StopStrings);
        public List<int> Context { get; } = [.. request.Prompt];
        public int Slot { get; set; } = -1;
        public int Fed { get; set; }
        public int Generated { get; set; }
        /// <summary>A generated token not yet fed to the model.</summary>
        public int? Pending { get; set; }
        public bool Ended { get; private set; }
        public string EndReason { get; private set; } = "";

        public ReadOnlySpan<int> PromptSpan(int start, int length) => prompt.AsSpan(start, length);

        // The reader may have gone (cancelled): writing to an unbounded channel never blocks the batcher.
        public void Send(GeneratedPiece piece) => Output.Writer.TryWrite(piece);

        public void Finish(string reason, string text, GeneratedToken? token = null)
        {
            Ended = true;
            EndReason = reason;
            metrics.Finished(reason);
            Send(new GeneratedPiece(text, token, new GenerationEnd(reason, prompt.Length, Generated)));
            Output.Writer.TryComplete();
        }

        public void Cancel()
        {
            Ended = true;
            EndReason = "cancelled";
            metrics.Finished(EndReason);
            Output.Writer.TryComplete(new OperationCanceledException(cancellation));
        }

        public void Fail(Exception e)
        {
            if (Ended) return;
            Ended = true;
            EndReason = "error";
            metrics.Finished(EndReason);
            Output.Writer.TryComplete(e);
        }
    }
}
