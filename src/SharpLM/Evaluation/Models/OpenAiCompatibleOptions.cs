namespace SharpLM.Evaluation.Models;

/// <summary>How to reach an OpenAI-compatible server (llama.cpp, Ollama, vLLM, <c>sharplm serve</c>).</summary>
public sealed record OpenAiCompatibleOptions
{
    /// <summary>The API root that <c>/completions</c> and <c>/chat/completions</c> hang off, e.g. http://127.0.0.1:8080/v1.</summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>Sent as <c>model</c>; null leaves it out (servers that host one model ignore it).</summary>
    public string? Model { get; init; }

    /// <summary>Sent as a bearer token when set.</summary>
    public string? ApiKey { get; init; }

    /// <summary>
    /// <see cref="OpenAiCompatibleModel"/> generates through <c>/chat/completions</c> (the context as one user message)
    /// instead of <c>/completions</c>; chat endpoints give no prompt log-probabilities, so scoring is refused.
    /// </summary>
    public bool Chat { get; init; }

    /// <summary>Limit for one attempt of one request, reading the whole response included.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Requests in flight at once, over all calls sharing this connection; at least 1.</summary>
    public int MaxConcurrentRequests { get; init; } = 4;

    /// <summary>Further attempts after a timeout, a connection failure, HTTP 408, 429 or 5xx.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>Wait before the first retry; it doubles with each retry, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between attempts, whatever the doubling or a server's Retry-After asks for.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Checks the settings and returns them.</summary>
    /// <exception cref="InvalidInputException">A URL that is not absolute http(s), or a limit out of range.</exception>
    public OpenAiCompatibleOptions Validate()
    {
        if (!BaseUrl.IsAbsoluteUri || (BaseUrl.Scheme != Uri.UriSchemeHttp && BaseUrl.Scheme != Uri.UriSchemeHttps))
            throw new InvalidInputException($"base URL {BaseUrl}: must be an absolute http:// or https:// URL");
        if (RequestTimeout <= TimeSpan.Zero) throw new InvalidInputException($"request timeout {RequestTimeout}: must be positive");
        if (MaxConcurrentRequests < 1) throw new InvalidInputException($"max concurrent requests {MaxConcurrentRequests}: must be at least 1");
        if (MaxRetries < 0) throw new InvalidInputException($"max retries {MaxRetries}: must not be negative");
        if (RetryDelay < TimeSpan.Zero || MaxRetryDelay < RetryDelay)
            throw new InvalidInputException($"retry delays {RetryDelay}..{MaxRetryDelay}: must satisfy 0 <= first <= max");
        return this;
    }
}
