using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace SharpLM.Server;

/// <summary>Server-sent events as OpenAI streams them: <c>data: {json}</c> blocks, ending with <c>data: [DONE]</c>.</summary>
internal sealed class EventStream(HttpResponse response)
{
    public async Task SendAsync<T>(T payload, CancellationToken cancellation)
    {
        if (!response.HasStarted)
        {
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
        }
        await response.WriteAsync($"data: {JsonSerializer.Serialize(payload, ServerJson.Options)}\n\n", cancellation);
        await response.Body.FlushAsync(cancellation);
    }

    public Task DoneAsync(CancellationToken cancellation) => response.WriteAsync("data: [DONE]\n\n", cancellation);
}
