namespace SharpLM.Server;

/// <summary>
/// Admission to the served models. A model generates for up to <see cref="IServedModel.Concurrency"/> requests at
/// once (its batch); the line behind them is bounded: beyond <c>maxQueued</c> waiting requests a new one is refused
/// (429) at once, so a flood of requests cannot pile up connections and memory behind the batch. Requests name a
/// model by its id (<see cref="Find"/>); several ids may share one batch (adapters over one base).
/// </summary>
internal sealed class ModelAccess
{
    readonly IReadOnlyList<IServedModel> models;
    readonly int capacity;
    int pending; // requests generating or waiting

    public ModelAccess(IReadOnlyList<IServedModel> models, int maxQueued)
    {
        if (models.Count == 0) throw new ArgumentException("a server needs at least one model");
        var twice = models.GroupBy(m => m.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new InvalidInputException($"model id '{twice.Key}' is served twice: every model and adapter needs its own name");
        this.models = models;
        MaxQueued = maxQueued;
        capacity = models.Max(m => m.Concurrency) + maxQueued;
    }

    public IReadOnlyList<IServedModel> Models => models;

    public int MaxQueued { get; }

    /// <summary>Requests generating or waiting (for tests that must know a request is queued, and /metrics).</summary>
    public int Pending => Volatile.Read(ref pending);

    /// <summary>The model a request names; the first one when it names none.</summary>
    /// <exception cref="ApiException">404: no model has that id.</exception>
    public IServedModel Find(string? id)
    {
        if (string.IsNullOrEmpty(id)) return models[0];
        return models.FirstOrDefault(m => m.Id == id)
            ?? throw new ApiException(404, $"the model '{id}' does not exist on this server; GET /v1/models lists {string.Join(", ", models.Select(m => $"'{m.Id}'"))}",
                "invalid_request_error", "model", "model_not_found");
    }

    /// <summary>A place among the generating or waiting requests, released by disposing it.</summary>
    /// <exception cref="ApiException">429: the batch and the queue behind it are full.</exception>
    public Lease Enter()
    {
        if (Interlocked.Increment(ref pending) > capacity)
        {
            Interlocked.Decrement(ref pending);
            throw new ApiException(429, $"the server is busy: {MaxQueued} requests are already waiting for the model; retry later", "rate_limit_error");
        }
        return new Lease(this);
    }

    public readonly struct Lease(ModelAccess access) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref access.pending);
    }
}
