namespace SharpLM.Server;

/// <summary>
/// One request at a time uses the model: a checkpoint's forward passes share one set of weights and libtorch's
/// thread pool, so running requests side by side gains nothing and would need thread-safe models.
/// </summary>
internal sealed class ModelAccess(IServedModel model)
{
    readonly SemaphoreSlim gate = new(1, 1);

    public IServedModel Model => model;

    public async Task<Lease> EnterAsync(CancellationToken cancellation)
    {
        await gate.WaitAsync(cancellation);
        return new Lease(gate);
    }

    public readonly struct Lease(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}
