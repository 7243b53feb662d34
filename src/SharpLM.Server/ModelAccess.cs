namespace SharpLM.Server;

/// <summary>
/// One request at a time uses the model: a checkpoint's forward passes share one set of weights and libtorch's
/// thread pool, so running requests side by side gains nothing and would need thread-safe models. The line in
/// front of it is bounded: beyond <c>maxQueued</c> waiting requests a new one is refused (429) at once, so a flood
/// of requests cannot pile up connections and memory behind one long generation.
/// </summary>
internal sealed class ModelAccess(IServedModel model, int maxQueued)
{
    readonly SemaphoreSlim gate = new(1, 1);
    int pending; // requests holding or waiting for the gate

    public IServedModel Model => model;

    /// <summary>Requests holding or waiting for the model (for tests that must know a request is queued).</summary>
    public int Pending => Volatile.Read(ref pending);

    /// <exception cref="ApiException">429: <c>maxQueued</c> requests are already waiting.</exception>
    public async Task<Lease> EnterAsync(CancellationToken cancellation)
    {
        if (Interlocked.Increment(ref pending) > maxQueued + 1)
        {
            Interlocked.Decrement(ref pending);
            throw new ApiException(429, $"the server is busy: {maxQueued} requests are already waiting for the model; retry later", "rate_limit_error");
        }
        try
        {
            await gate.WaitAsync(cancellation);
        }
        catch
        {
            Interlocked.Decrement(ref pending);
            throw;
        }
        return new Lease(this);
    }

    public readonly struct Lease(ModelAccess access) : IDisposable
    {
        public void Dispose()
        {
            access.gate.Release();
            Interlocked.Decrement(ref access.pending);
        }
    }
}
