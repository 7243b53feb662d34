using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace SharpLM.Server;

/// <summary>
/// The web chat served at <c>/</c>: one HTML page, its script and its style sheet, embedded in this assembly so the
/// server needs no files beside it and the browser fetches nothing from elsewhere (no CDN, no web fonts). The page
/// talks to the server only through the public API (GET /v1/models, POST /v1/chat/completions with streaming).
/// </summary>
/// <remarks>
/// The assets are served without the API key: a browser must load the page before it can ask the user for the key,
/// and the assets are the same fixed bytes on every server — no model name, no setting, no conversation — so they
/// tell a caller without the key nothing. Every API call the page makes still needs the key. The Host-header check
/// applies to the page as to the API. The Content-Security-Policy allows scripts, styles and connections only to
/// this origin (no inline script), so text a model writes cannot run as code even if it reached the DOM unescaped.
/// </remarks>
internal static class WebChatPage
{
    /// <summary>Only this origin's files and API; no inline script or style, no frames, no form posts elsewhere.</summary>
    internal const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'";

    sealed record Asset(string ContentType, byte[] Bytes);

    /// <summary>URL path → embedded file. One list, so the routes and the key exemption cannot drift apart.</summary>
    static readonly Dictionary<string, Asset> Assets = new(StringComparer.Ordinal)
    {
        ["/"] = Load("index.html", "text/html; charset=utf-8"),
        ["/app.js"] = Load("app.js", "text/javascript; charset=utf-8"),
        ["/app.css"] = Load("app.css", "text/css; charset=utf-8"),
    };

    static Asset Load(string name, string contentType)
    {
        string resource = $"SharpLM.Server.WebChat.{name}";
        using var stream = typeof(WebChatPage).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded resource {resource} is missing from {typeof(WebChatPage).Assembly.GetName().Name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return new Asset(contentType, copy.ToArray());
    }

    /// <summary>A GET (or HEAD) of one of the page's files: served without the API key (see the remarks).</summary>
    public static bool IsPageRequest(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) && Assets.ContainsKey(request.Path.Value ?? "");

    /// <summary>Maps GET / and the page's assets.</summary>
    /// <param name="noRoute">The answer to any other method on these paths: the server's JSON 404, as before the page
    /// existed (routing's own 405 would have no body).</param>
    public static void Map(WebApplication app, RequestDelegate noRoute)
    {
        foreach (var (path, asset) in Assets)
            app.Map(path, context => HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) ? Serve(context, asset) : noRoute(context));
    }

    static Task Serve(HttpContext context, Asset asset)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
        context.Response.ContentType = asset.ContentType;
        context.Response.ContentLength = asset.Bytes.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.Body.WriteAsync(asset.Bytes, context.RequestAborted).AsTask();
    }
}
