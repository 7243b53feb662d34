using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace SharpLM.Server;

/// <summary>A request the server refuses with 400 and an OpenAI-style error naming the offending field.</summary>
internal sealed class BadRequestException(string message, string? param = null) : Exception(message)
{
    public string? Param { get; } = param;
}

/// <summary>The sampling settings both endpoints share, validated.</summary>
internal sealed record Sampling(int MaxTokens, double Temperature, IReadOnlyList<string> Stop, ulong? Seed);

/// <summary>Reads request bodies and checks them the way OpenAI does, as far as this server supports the API.</summary>
internal static class RequestReader
{
    /// <summary>OpenAI's limit; clients that need more cut the rest themselves.</summary>
    public const int MaxStops = 4;

    public static async Task<T> ReadAsync<T>(HttpRequest request, CancellationToken cancellation) where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, ServerJson.Options, cancellation)
                ?? throw new BadRequestException("the request body must be a JSON object");
        }
        catch (JsonException e)
        {
            string? param = e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
            throw new BadRequestException($"invalid JSON body: {InvalidInputException.FirstLine(e)}", param);
        }
    }

    public static Sampling Sampling(int? maxTokens, int defaultMaxTokens, double? temperature, double? topP, int? n, JsonElement stop, long? seed)
    {
        int max = maxTokens ?? defaultMaxTokens;
        if (max < 0) throw new BadRequestException($"max_tokens {max}: must not be negative", "max_tokens");
        double t = temperature ?? 1;
        if (t is < 0 or > 2 || double.IsNaN(t)) throw new BadRequestException($"temperature {t}: must be between 0 and 2", "temperature");
        if (topP is { } p && p != 1) throw new BadRequestException($"top_p {p}: this server samples from the full distribution; only 1 is supported", "top_p");
        if (n is { } count && count != 1) throw new BadRequestException($"n {count}: this server returns one choice per prompt; only 1 is supported", "n");
        // Seeds are signed on the wire (OpenAI's int64); the bits are the model's unsigned seed.
        return new Sampling(max, t, Stops(stop), seed is long s ? unchecked((ulong)s) : null);
    }

    static IReadOnlyList<string> Stops(JsonElement stop)
    {
        string[] stops = stop.ValueKind switch
        {
            JsonValueKind.Undefined or JsonValueKind.Null => [],
            JsonValueKind.String => [stop.GetString()!],
            JsonValueKind.Array => stop.EnumerateArray().Select(s => s.ValueKind == JsonValueKind.String
                ? s.GetString()! : throw new BadRequestException("stop: every stop sequence must be a string", "stop")).ToArray(),
            _ => throw new BadRequestException("stop: must be a string or an array of strings", "stop"),
        };
        if (stops.Length > MaxStops) throw new BadRequestException($"stop: {stops.Length} sequences given; at most {MaxStops} are allowed", "stop");
        if (stops.Any(s => s.Length == 0)) throw new BadRequestException("stop: stop sequences must not be empty", "stop");
        return stops;
    }

    /// <summary>A prompt string, or an array of them (one choice each). Token-id prompts are refused: send text.</summary>
    public static IReadOnlyList<string> Prompts(JsonElement prompt)
    {
        const string tokensRefused = "prompt: token-id prompts are not supported; send text";
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return [prompt.GetString()!];
            case JsonValueKind.Array when prompt.GetArrayLength() > 0:
                return prompt.EnumerateArray().Select(p => p.ValueKind switch
                {
                    JsonValueKind.String => p.GetString()!,
                    JsonValueKind.Number or JsonValueKind.Array => throw new BadRequestException(tokensRefused, "prompt"),
                    _ => throw new BadRequestException("prompt: array items must be strings", "prompt"),
                }).ToArray();
            case JsonValueKind.Undefined or JsonValueKind.Null:
                throw new BadRequestException("prompt: required", "prompt");
            default:
                throw new BadRequestException("prompt: must be a string or a non-empty array of strings", "prompt");
        }
    }

    /// <summary>Chat messages as (role, text); content may be a string or an array of text parts.</summary>
    public static IReadOnlyList<(string Role, string Content)> Messages(JsonElement messages)
    {
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw new BadRequestException("messages: must be a non-empty array", "messages");
        var result = new List<(string, string)>();
        int i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            string where = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw new BadRequestException($"{where}: must be an object", "messages");
            string? role = m.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            if (role is not ("system" or "user" or "assistant"))
                throw new BadRequestException($"{where}.role: must be \"system\", \"user\" or \"assistant\"", "messages");
            if (!m.TryGetProperty("content", out var content)) throw new BadRequestException($"{where}.content: required", "messages");
            result.Add((role, Content(content, where)));
        }
        return result;
    }

    static string Content(JsonElement content, string where) => content.ValueKind switch
    {
        JsonValueKind.String => content.GetString()!,
        JsonValueKind.Array => string.Concat(content.EnumerateArray().Select(part =>
            part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var type) && type.ValueEquals("text")
            && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
                ? text.GetString()
                : throw new BadRequestException($"{where}.content: only text parts ({{\"type\": \"text\", \"text\": ...}}) are supported", "messages"))),
        _ => throw new BadRequestException($"{where}.content: must be a string or an array of text parts", "messages"),
    };
}
