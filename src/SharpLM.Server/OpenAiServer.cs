using System.Net;
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

public sealed record OpenAiServerOptions
{
    /// <summary>IP address to listen on. The default keeps the server private to this machine; 0.0.0.0 exposes it.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 lets the system pick a free one (see <see cref="OpenAiServer.BaseUrl"/>).</summary>
    public int Port { get; init; } = 8080;
}

/// <summary>
/// An OpenAI-compatible HTTP server over one <see cref="IServedModel"/>: GET /v1/models, POST /v1/completions and
/// POST /v1/chat/completions, streaming included. Bad requests get 400 with OpenAI's error JSON. It logs nothing.
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    readonly WebApplication app;

    OpenAiServer(WebApplication app, Uri baseUrl)
    {
        this.app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>The API root clients use, with the bound port: http://127.0.0.1:8080/v1.</summary>
    public Uri BaseUrl { get; }

    public int Port => BaseUrl.Port;

    /// <exception cref="InvalidInputException">The host is not an IP address, or the port is invalid or taken.</exception>
    public static async Task<OpenAiServer> StartAsync(IServedModel model, OpenAiServerOptions? options = null, CancellationToken cancellation = default)
    {
        options ??= new OpenAiServerOptions();
        IPAddress address = ParseHost(options.Host);
        if (options.Port is < 0 or > 65535) throw new InvalidInputException($"--port {options.Port}: must be between 0 and 65535");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(OpenAiServer).Assembly.GetName().Name, ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, options.Port));
        var app = builder.Build();
        Map(app, new ModelAccess(model));
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
        return new OpenAiServer(app, new Uri(bound.TrimEnd('/') + "/v1"));
    }

    static IPAddress ParseHost(string host) =>
        host == "localhost" ? IPAddress.Loopback
        : IPAddress.TryParse(host, out var address) ? address
        : throw new InvalidInputException($"--host {host}: expected an IP address such as 127.0.0.1 or 0.0.0.0");

    static void Map(WebApplication app, ModelAccess access)
    {
        var completions = new CompletionsEndpoint(access);
        var chat = new ChatCompletionsEndpoint(access);
        app.MapGet("/v1/models", Guarded(context => context.Response.WriteAsJsonAsync(
            new ModelListResult("list", [new ModelResult(access.Model.Id, "model", 0, "sharplm", access.Model.ContextLength)]), ServerJson.Options)));
        app.MapPost("/v1/completions", Guarded(completions.HandleAsync));
        app.MapPost("/v1/chat/completions", Guarded(chat.HandleAsync));
        app.MapFallback(context => Error(context, StatusCodes.Status404NotFound,
            $"no route {context.Request.Method} {context.Request.Path}; this server has GET /v1/models, POST /v1/completions and POST /v1/chat/completions",
            "invalid_request_error", null));
    }

    /// <summary>Turns failures into OpenAI-style errors: 400 for what the client can fix, 500 otherwise.</summary>
    static RequestDelegate Guarded(RequestDelegate handler) => async context =>
    {
        try
        {
            await handler(context);
        }
        catch (BadRequestException e)
        {
            await Error(context, StatusCodes.Status400BadRequest, e.Message, "invalid_request_error", e.Param);
        }
        catch (InvalidInputException e)
        {
            await Error(context, StatusCodes.Status400BadRequest, InvalidInputException.FirstLine(e), "invalid_request_error", null);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to tell.
        }
        catch (Exception e)
        {
            await Error(context, StatusCodes.Status500InternalServerError, $"{e.GetType().Name}: {InvalidInputException.FirstLine(e)}", "server_error", null);
        }
    };

    static async Task Error(HttpContext context, int status, string message, string type, string? param)
    {
        var error = new ErrorResult(new ErrorDetail(message, type, param));
        if (context.Response.HasStarted)
        {
            // Mid-stream the status line is gone: report in the stream and end it without [DONE].
            await new EventStream(context.Response).SendAsync(error, context.RequestAborted);
            return;
        }
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(error, ServerJson.Options);
    }

    /// <summary>Completes when the server stops: Ctrl+C or SIGTERM, or <see cref="DisposeAsync"/>.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellation = default) => app.WaitForShutdownAsync(cancellation);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
