using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SharpLM.Evaluation.Models;

/// <summary>
/// HTTP to an OpenAI-compatible server: JSON in snake_case, a per-attempt timeout, retries with exponential backoff
/// on timeouts, connection failures, 408, 429 and 5xx, at most N requests in flight, and one-line errors that name
/// the URL. Shared by the evaluation model and the chat client so both count against the same concurrency limit.
/// </summary>
internal sealed class OpenAiTransport : IDisposable
{
    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    readonly HttpClient http;
    readonly SemaphoreSlim slots;
    readonly Uri root;

    public OpenAiTransport(OpenAiCompatibleOptions options)
    {
        Options = options.Validate();
        // The timeout is ours, per attempt: HttpClient's own would also cut streams that are still producing.
        http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        if (options.ApiKey is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        slots = new SemaphoreSlim(options.MaxConcurrentRequests);
        string baseUrl = options.BaseUrl.AbsoluteUri;
        root = new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/");
    }

    public OpenAiCompatibleOptions Options { get; }

    /// <summary><paramref name="path"/> ("completions") under the base URL, keeping its /v1.</summary>
    public Uri Url(string path) => new(root, path);

    /// <summary>POSTs <paramref name="body"/> and parses the whole response as <typeparamref name="T"/>.</summary>
    public async Task<T> PostAsync<T>(string path, object body, CancellationToken cancellation)
    {
        Uri url = Url(path);
        await slots.WaitAsync(cancellation);
        try
        {
            string text = await WithRetries(url, async attempt =>
            {
                using var response = await http.PostAsJsonAsync(url, body, JsonOptions, attempt);
                string content = await response.Content.ReadAsStringAsync(attempt);
                if (!response.IsSuccessStatusCode) throw new StatusFailure(response, content);
                return content;
            }, cancellation);
            return Parse<T>(url, text);
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>
    /// POSTs <paramref name="body"/> and yields the server-sent events (<c>data: {...}</c>) until <c>data: [DONE]</c>.
    /// Only getting the response is retried: once events flow, a failure is reported, not silently restarted.
    /// The timeout then applies to each wait for the next line.
    /// </summary>
    public async IAsyncEnumerable<T> StreamAsync<T>(string path, object body, [EnumeratorCancellation] CancellationToken cancellation)
    {
        Uri url = Url(path);
        await slots.WaitAsync(cancellation);
        try
        {
            using var response = await WithRetries(url, async attempt =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body, options: JsonOptions) };
                var sent = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt);
                if (sent.IsSuccessStatusCode) return sent;
                using (sent) throw new StatusFailure(sent, await sent.Content.ReadAsStringAsync(attempt));
            }, cancellation);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellation));
            while (true)
            {
                string? line;
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
                {
                    idle.CancelAfter(Options.RequestTimeout);
                    try
                    {
                        line = await reader.ReadLineAsync(idle.Token);
                    }
                    catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                    {
                        throw new TimeoutException($"{url}: the event stream sent nothing for {Seconds(Options.RequestTimeout)}");
                    }
                }
                if (line is null) throw Malformed(url, "the event stream ended without data: [DONE]");
                if (!line.StartsWith("data:", StringComparison.Ordinal)) continue; // blank separators, comments, event names
                string data = line["data:".Length..].Trim();
                if (data == "[DONE]") yield break;
                yield return Parse<T>(url, data);
            }
        }
        finally
        {
            slots.Release();
        }
    }

    async Task<TResult> WithRetries<TResult>(Uri url, Func<CancellationToken, Task<TResult>> send, CancellationToken cancellation)
    {
        int attempts = Options.MaxRetries + 1;
        for (int attempt = 1; ; attempt++)
        {
            TimeSpan? retryAfter = null;
            Exception failure;
            using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
            {
                limit.CancelAfter(Options.RequestTimeout);
                try
                {
                    return await send(limit.Token);
                }
                catch (OperationCanceledException e) when (!cancellation.IsCancellationRequested)
                {
                    failure = new TimeoutException($"{url}: no response within {Seconds(Options.RequestTimeout)} ({Attempts(attempt)})", e);
                }
                catch (HttpRequestException e)
                {
                    failure = new OpenAiCompatibleException($"{url}: request failed ({Attempts(attempt)}): {InvalidInputException.FirstLine(e)}", inner: e);
                }
                catch (StatusFailure e)
                {
                    failure = new OpenAiCompatibleException(
                        $"{url}: HTTP {e.Status} ({e.Reason}) ({Attempts(attempt)}): {Summary(e.Body)}", e.Status, e.Body);
                    if (!Retryable(e.Status)) throw failure;
                    retryAfter = e.RetryAfter;
                }
            }
            if (attempt >= attempts) throw failure;
            TimeSpan backoff = Options.RetryDelay * Math.Pow(2, attempt - 1);
            if (retryAfter > backoff) backoff = retryAfter.Value;
            await Task.Delay(backoff < Options.MaxRetryDelay ? backoff : Options.MaxRetryDelay, cancellation);
        }
    }

    static bool Retryable(int status) => status is 408 or 429 || status >= 500;

    static string Attempts(int n) => n == 1 ? "1 attempt" : $"{n} attempts";

    static string Seconds(TimeSpan t) => $"{t.TotalSeconds:0.###} s";

    static T Parse<T>(Uri url, string text)
    {
        string trimmed = text.TrimStart();
        if (trimmed.Length == 0) throw Malformed(url, "empty body");
        if (trimmed[0] != '{') throw Malformed(url, $"not JSON: \"{OneLine(trimmed, 60)}\"");
        try
        {
            return JsonSerializer.Deserialize<T>(text, JsonOptions) ?? throw Malformed(url, "JSON null");
        }
        catch (JsonException e)
        {
            throw Malformed(url, InvalidInputException.FirstLine(e), e);
        }
    }

    public static OpenAiCompatibleException Malformed(Uri url, string problem, Exception? inner = null) =>
        new($"{url}: malformed response: {problem}", inner: inner);

    /// <summary>An error body on one line: OpenAI's error.message when there is one, else the text, shortened.</summary>
    internal static string Summary(string body, int max = 300)
    {
        string text = body;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var error))
                return ErrorSummary(error, max);
        }
        catch (JsonException)
        {
            // Not JSON: the raw text is the best description there is.
        }
        return OneLine(text, max);
    }

    /// <summary>An OpenAI error object ({"message": ...}) or whatever a server put under "error", on one line.</summary>
    internal static string ErrorSummary(JsonElement error, int max = 300) =>
        OneLine(error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
            ? m.GetString()! : error.ValueKind == JsonValueKind.String ? error.GetString()! : error.GetRawText(), max);

    static string OneLine(string text, int max)
    {
        text = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (text.Length == 0) return "(empty body)";
        return text.Length <= max ? text : text[..max] + "…";
    }

    public void Dispose()
    {
        http.Dispose();
        slots.Dispose();
    }

    /// <summary>A non-success status inside one attempt; <see cref="WithRetries"/> decides whether to try again.</summary>
    sealed class StatusFailure(HttpResponseMessage response, string body) : Exception
    {
        public int Status { get; } = (int)response.StatusCode;
        public string Reason { get; } = response.ReasonPhrase ?? response.StatusCode.ToString();
        public string Body { get; } = body;
        public TimeSpan? RetryAfter { get; } = response.Headers.RetryAfter switch
        {
            { Delta: TimeSpan delta } => delta,
            { Date: DateTimeOffset date } => date - DateTimeOffset.UtcNow,
            _ => null,
        };
    }
}
