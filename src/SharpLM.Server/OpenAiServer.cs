using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SharpLM.Server;

/// <summary>
/// Where <see cref="OpenAiServer"/> listens and what it accepts. The limits exist because one request can
/// otherwise hold the model for hours (max_tokens 10^8), fill memory (a huge body) or be sent by any web page the
/// user visits (a POST to 127.0.0.1 with a foreign Host header); every default is generous for real clients.
/// </summary>
public sealed record OpenAiServerOptions
{
    /// <summary>IP address to listen on. The default keeps the server private to this machine; 0.0.0.0 exposes it.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 lets the system pick a free one (see <see cref="OpenAiServer.BaseUrl"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Largest request body accepted; larger ones get 413 without being read.</summary>
    public long MaxRequestBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Requests that may wait beyond those the model is generating for (its batch); more get 429 at once.</summary>
    public int MaxQueuedRequests { get; init; } = 16;

    /// <summary>Time a request may take, waiting for the model included; then its generation is stopped (504).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Most tokens one request may ask to generate, whatever the model's context (400 beyond).</summary>
    public int MaxCompletionTokens { get; init; } = 4096;

    /// <summary>Most prompts in one /v1/completions request.</summary>
    public int MaxPrompts { get; init; } = 64;

    /// <summary>Most messages in one /v1/chat/completions request.</summary>
    public int MaxMessages { get; init; } = 256;

    /// <summary>Most characters of prompt (all prompts, or all message contents) in one request.</summary>
    public int MaxPromptCharacters { get; init; } = 1_000_000;

    /// <summary>Longest stop string: each is searched for at every generated token.</summary>
    public int MaxStopLength { get; init; } = 1000;

    /// <summary>When set, every request must carry <c>Authorization: Bearer</c> with this key (401 otherwise).</summary>
    public string? ApiKey { get; init; }

    /// <summary>
    /// Host names accepted in the Host header besides localhost, 127.0.0.1, [::1] and the listening address. Any
    /// other name is refused (421), so a web page cannot reach the server through a DNS name of its own.
    /// </summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>Time in-flight requests get to finish when the server stops; their generations are cancelled at once.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    internal void Validate()
    {
        if (Port is < 0 or > 65535) throw new InvalidInputException($"--port {Port}: must be between 0 and 65535");
        if (MaxRequestBodyBytes <= 0) throw new InvalidInputException($"--max-body-mb: must be positive");
        if (MaxQueuedRequests < 0) throw new InvalidInputException($"--max-queue {MaxQueuedRequests}: must not be negative");
        if (RequestTimeout <= TimeSpan.Zero) throw new InvalidInputException($"--request-timeout {RequestTimeout.TotalSeconds}: must be positive");
        if (MaxCompletionTokens < 0) throw new InvalidInputException($"--max-tokens {MaxCompletionTokens}: must not be negative");
        if (MaxPrompts < 1 || MaxMessages < 1 || MaxPromptCharacters < 1 || MaxStopLength < 1)
            throw new InvalidInputException("--max-prompts, --max-messages, --max-prompt-chars and stop length: must be positive");
        if (ApiKey is { Length: 0 }) throw new InvalidInputException("--api-key: must not be empty");
    }
}

/// <summary>
/// An OpenAI-compatible HTTP server over one or more <see cref="IServedModel"/>s (a request's <c>model</c> picks one):
/// GET /v1/models, POST /v1/completions and POST /v1/chat/completions, streaming included; a web chat page over them
/// at GET / (<see cref="WebChatPage"/>); and GET /health and GET /metrics (Prometheus) for operators. Generations from
/// all requests share the model's continuous batch. Refusals get OpenAI's error JSON with a 4xx; anything unexpected a
/// generic 500 JSON (never an exception's type or text). It logs nothing.
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    static readonly string[] LoopbackNames = ["localhost", "127.0.0.1", "[::1]"];

    readonly WebApplication app;
    readonly ModelAccess access;

    OpenAiServer(WebApplication app, ModelAccess access, Uri baseUrl)
    {
        this.app = app;
        this.access = access;
        BaseUrl = baseUrl;
    }

    /// <summary>Requests holding or waiting for the model.</summary>
    internal int PendingRequests => access.Pending;

    /// <summary>The API root clients use, with the bound port: http://127.0.0.1:8080/v1.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The port it listens on (the one picked when <see cref="OpenAiServerOptions.Port"/> is 0).</summary>
    public int Port => BaseUrl.Port;

    /// <summary>Starts listening; SIGTERM or Ctrl+C stop it (see <see cref="WaitForShutdownAsync"/>).</summary>
    /// <exception cref="InvalidInputException">The host is not an IP address, an option is out of range, or the port is invalid or taken.</exception>
    public static Task<OpenAiServer> StartAsync(IServedModel model, OpenAiServerOptions? options = null, CancellationToken cancellation = default) =>
        StartAsync([model], options, cancellation);

    /// <summary>Starts listening with several models (a base and its adapters); the first answers requests that name none.</summary>
    /// <exception cref="InvalidInputException">As for one model, or two models share an id.</exception>
    public static async Task<OpenAiServer> StartAsync(IReadOnlyList<IServedModel> models, OpenAiServerOptions? options = null, CancellationToken cancellation = default)
    {
        options ??= new OpenAiServerOptions();
        IPAddress address = ParseHost(options.Host);
        options.Validate();

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(OpenAiServer).Assembly.GetName().Name, ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, options.Port);
            // Kestrel's own cap backs up the reader's: a chunked body has no length to check up front.
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            kestrel.AddServerHeader = false;
        });
        var app = builder.Build();
        var allowedHosts = new HashSet<string>(LoopbackNames.Concat(options.AllowedHosts), StringComparer.OrdinalIgnoreCase);
        if (!address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any))
            allowedHosts.Add(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString());
        Guard(app, options, allowedHosts);
        var access = new ModelAccess(models, options.MaxQueuedRequests);
        Map(app, access, options, new ServerMetrics());
        try
        {
            await app.StartAsync(cancellation);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new InvalidInputException($"--port {options.Port}: cannot listen on {options.Host}: {InvalidInputException.FirstLine(e)}", e);
        }
        string bound = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new OpenAiServer(app, access, new Uri(bound.TrimEnd('/') + "/v1"));
    }

    static IPAddress ParseHost(string host) =>
        host == "localhost" ? IPAddress.Loopback
        : IPAddress.TryParse(host, out var address) ? address
        : throw new InvalidInputException($"--host {host}: expected an IP address such as 127.0.0.1 or 0.0.0.0");

    /// <summary>Checks that come before any route: last-resort errors, Host, API key, content type, body size.</summary>
    static void Guard(WebApplication app, OpenAiServerOptions options, HashSet<string> allowedHosts)
    {
        byte[]? key = options.ApiKey is { } k ? Encoding.UTF8.GetBytes(k) : null;
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away; there is nobody to tell.
            }
            catch (Microsoft.AspNetCore.Http.BadHttpRequestException e)
            {
                await TryError(context, e.StatusCode, e.StatusCode == 413 ? RequestReader.TooLarge(options.MaxRequestBodyBytes).Message : "the request could not be read", "invalid_request_error");
            }
            catch (Exception)
            {
                // Last resort: the exception's type and message may name paths and internals, so they stay here.
                await TryError(context, StatusCodes.Status500InternalServerError, "the server failed to handle this request", "server_error");
            }
        });
        app.Use(async (context, next) =>
        {
            var host = context.Request.Host;
            int local = context.Connection.LocalPort;
            bool portOk = host.Port is int p ? p == local : local == 80;
            if (!host.HasValue || !allowedHosts.Contains(host.Host) || !portOk)
            {
                // A browser sends the page's own name: refusing other names stops DNS rebinding, and answering
                // 421 (not the API) stops a page from reading anything back.
                await Refuse(context, StatusCodes.Status421MisdirectedRequest,
                    "Host header not allowed: use localhost, 127.0.0.1 or [::1] with the server's port, or a name given to serve --allowed-hosts");
                return;
            }
            // The chat page's own files carry no data, and the page must load to ask for the key (WebChatPage); a health
            // check reveals nothing and must work for probes that hold no key.
            bool open = WebChatPage.IsPageRequest(context.Request) || (HttpMethods.IsGet(context.Request.Method) && context.Request.Path == "/health");
            if (key is not null && !open && !Authorized(context.Request, key))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await Refuse(context, StatusCodes.Status401Unauthorized, "missing or incorrect API key: send Authorization: Bearer <key>");
                return;
            }
            if (HttpMethods.IsPost(context.Request.Method))
            {
                // Forms and text/plain are what a web page may POST without a CORS preflight; JSON is not.
                if (!context.Request.HasJsonContentType())
                {
                    await Refuse(context, StatusCodes.Status415UnsupportedMediaType, "Content-Type must be application/json");
                    return;
                }
                if (context.Request.ContentLength > options.MaxRequestBodyBytes)
                {
                    await Refuse(context, StatusCodes.Status413PayloadTooLarge, RequestReader.TooLarge(options.MaxRequestBodyBytes).Message);
                    return;
                }
            }
            await next(context);
        });
    }

    static bool Authorized(HttpRequest request, byte[] key)
    {
        string header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        byte[] given = Encoding.UTF8.GetBytes(header[scheme.Length..].Trim());
        // Constant time, so the key cannot be guessed byte by byte from response times.
        return CryptographicOperations.FixedTimeEquals(given, key);
    }

    static void Map(WebApplication app, ModelAccess access, OpenAiServerOptions options, ServerMetrics metrics)
    {
        var completions = new CompletionsEndpoint(access, options, metrics);
        var chat = new ChatCompletionsEndpoint(access, options, metrics);
        var stopping = app.Lifetime.ApplicationStopping;
        app.MapGet("/v1/models", Guarded("/v1/models", (context, cancellation) => context.Response.WriteAsJsonAsync(
            new ModelListResult("list", access.Models.Select(m => new ModelResult(m.Id, "model", 0, "sharplm", m.ContextLength)).ToArray()), ServerJson.Options, cancellation), options, stopping, metrics));
        app.MapPost("/v1/completions", Guarded("/v1/completions", completions.HandleAsync, options, stopping, metrics));
        app.MapPost("/v1/chat/completions", Guarded("/v1/chat/completions", chat.HandleAsync, options, stopping, metrics));
        app.MapGet("/health", Guarded("/health", (context, cancellation) => context.Response.WriteAsJsonAsync(
            new HealthResult("ok", access.Models.Select(m => m.Id).ToArray(), access.Pending), ServerJson.Options, cancellation), options, stopping, metrics));
        app.MapGet("/metrics", Guarded("/metrics", (context, cancellation) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return context.Response.WriteAsync(metrics.Render(access), cancellation);
        }, options, stopping, metrics));
        RequestDelegate noRoute = context => Refuse(context, StatusCodes.Status404NotFound,
            $"no route {context.Request.Method} {context.Request.Path}; this server has GET / (a web chat), GET /v1/models, POST /v1/completions, POST /v1/chat/completions, GET /health and GET /metrics");
        WebChatPage.Map(app, noRoute);
        // "{*path}": the default fallback pattern skips paths that look like files (/favicon.ico), which got an empty 404.
        app.MapFallback("{*path}", noRoute);
    }

    /// <summary>
    /// Runs a handler under one token that ends its work when the client leaves, its time is up or the server
    /// stops, and turns failures into OpenAI-style errors: 4xx for what the client can fix, a generic 500 otherwise.
    /// Every answer is counted and timed under <paramref name="route"/> for /metrics.
    /// </summary>
    static RequestDelegate Guarded(string route, Func<HttpContext, CancellationToken, Task> handler, OpenAiServerOptions options, CancellationToken stopping, ServerMetrics metrics) => async context =>
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        budget.CancelAfter(options.RequestTimeout);
        try
        {
            await handler(context, budget.Token);
        }
        catch (ApiException e)
        {
            await Error(context, e.Status, e.Message, e.Type, e.Param, e.Code);
        }
        catch (InvalidInputException e)
        {
            await Error(context, StatusCodes.Status400BadRequest, InvalidInputException.FirstLine(e), "invalid_request_error", null);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to tell.
            if (!context.Response.HasStarted) context.Response.StatusCode = 499; // counted as nginx does: client closed the request
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            await TryError(context, StatusCodes.Status503ServiceUnavailable, "the server is shutting down", "server_error");
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            await TryError(context, StatusCodes.Status504GatewayTimeout,
                $"the request took longer than this server's limit of {options.RequestTimeout.TotalSeconds:0.###} s (serve --request-timeout)", "timeout_error");
        }
        finally
        {
            metrics.Answered(route, context.Response.StatusCode, clock.Elapsed);
        }
    };

    static async Task Error(HttpContext context, int status, string message, string type, string? param, string? code = null)
    {
        var error = new ErrorResult(new ErrorDetail(message, type, param, code));
        if (context.Response.HasStarted)
        {
            // Mid-stream the status line is gone: report in the stream and end it without [DONE].
            await new EventStream(context.Response).SendAsync(error, context.RequestAborted);
            return;
        }
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status413PayloadTooLarge) context.Response.Headers.Connection = "close";
        await context.Response.WriteAsJsonAsync(error, ServerJson.Options);
    }

    /// <summary>
    /// An error for a request whose body is left unread. Kestrel would drain the body afterwards, but drops the
    /// connection when the body is over the limit (or chunked and turns out so); said up front ("Connection:
    /// close"), a client does not reuse that connection and see its next request fail.
    /// </summary>
    static Task Refuse(HttpContext context, int status, string message)
    {
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0) context.Response.Headers.Connection = "close";
        return Error(context, status, message, "invalid_request_error", null);
    }

    /// <summary>An error for a request that may be half answered or whose client may be gone: nothing more to do if it fails.</summary>
    static async Task TryError(HttpContext context, int status, string message, string type)
    {
        try
        {
            await Error(context, status, message, type, null);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested || context.Response.HasStarted)
        {
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Completes when the server stops: Ctrl+C or SIGTERM, or <see cref="DisposeAsync"/>.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellation = default) => app.WaitForShutdownAsync(cancellation);

    /// <summary>Stops listening, cancels in-flight generations and waits (up to the shutdown timeout) for their requests to end.</summary>
    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
