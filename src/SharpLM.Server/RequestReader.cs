using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;

namespace SharpLM.Server;

/// <summary>A request the server refuses with <paramref name="status"/> and an OpenAI-style error.</summary>
internal class ApiException(int status, string message, string type = "invalid_request_error", string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    /// <summary>OpenAI's machine-readable code ("model_not_found"), where it has one.</summary>
    public string? Code { get; } = code;
}

/// <summary>A request the server refuses with 400 and an OpenAI-style error naming the offending field.</summary>
internal sealed class BadRequestException(string message, string? param = null) : ApiException(400, message, "invalid_request_error", param);

/// <summary>The sampling settings both endpoints share, validated; <paramref name="N"/> choices per prompt.</summary>
internal sealed record Sampling(int MaxTokens, double Temperature, double TopP, int N, IReadOnlyList<string> Stop, ulong? Seed)
{
    /// <summary>
    /// The request for choice <paramref name="choice"/> of <paramref name="prompt"/>. With a seed, choice i samples with
    /// seed + i: reproducible, and the choices differ.
    /// </summary>
    public GenerationRequest For(string prompt, int choice) =>
        new(prompt, MaxTokens, Temperature, TopP, Seed is ulong s ? unchecked(s + (ulong)choice) : null, Stop);
}

/// <summary>Reads request bodies and checks them the way OpenAI does, as far as this server supports the API.</summary>
internal static class RequestReader
{
    /// <summary>OpenAI's limit; clients that need more cut the rest themselves.</summary>
    public const int MaxStops = 4;

    /// <summary>Most choices per prompt (<c>n</c>): each is a sequence in the batch.</summary>
    public const int MaxChoices = 16;

    /// <summary>
    /// The body, read whole (at most <paramref name="maxBytes"/>: 413 beyond) and checked to be UTF-8 before it is
    /// parsed: System.Text.Json reports bad UTF-8 inside strings only when the string is read, as an exception
    /// that is not a <see cref="JsonException"/>, which used to surface as a 500.
    /// </summary>
    public static async Task<T> ReadAsync<T>(HttpRequest request, long maxBytes, CancellationToken cancellation) where T : class
    {
        byte[] body = await ReadBodyAsync(request, maxBytes, cancellation);
        if (!Utf8.IsValid(body)) throw new BadRequestException("the request body is not valid UTF-8");
        try
        {
            return JsonSerializer.Deserialize<T>(body, ServerJson.Options)
                ?? throw new BadRequestException("the request body must be a JSON object");
        }
        catch (JsonException e)
        {
            string? param = e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
            // The message may quote the input; its first line names the position, which is what a client needs.
            throw new BadRequestException($"invalid JSON body: {InvalidInputException.FirstLine(e)}", param);
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or ArgumentException or FormatException or OverflowException)
        {
            throw new BadRequestException("invalid JSON body: a value cannot be read as the type its field needs");
        }
    }

    static async Task<byte[]> ReadBodyAsync(HttpRequest request, long maxBytes, CancellationToken cancellation)
    {
        if (request.ContentLength > maxBytes) throw TooLarge(maxBytes);
        var buffer = new MemoryStream(request.ContentLength is long n ? (int)n : 4096);
        var chunk = new byte[16 * 1024];
        try
        {
            for (int read; (read = await request.Body.ReadAsync(chunk, cancellation)) > 0;)
            {
                // A chunked body has no length up front, so the limit is also checked as it arrives.
                if (buffer.Length + read > maxBytes) throw TooLarge(maxBytes);
                buffer.Write(chunk, 0, read);
            }
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e)
        {
            // Kestrel's own limits and malformed chunking: its status (413, 400) says which.
            throw new ApiException(e.StatusCode, e.StatusCode == 413 ? TooLarge(maxBytes).Message : "the request body could not be read");
        }
        return buffer.ToArray();
    }

    public static ApiException TooLarge(long maxBytes) =>
        new(413, $"the request body is larger than this server's limit of {maxBytes} bytes (serve --max-body-mb)");

    /// <summary>
    /// Runs the checks that read strings out of the parsed body: an escaped lone surrogate ("\ud800") is valid
    /// JSON but cannot be read as a string, and that must be the client's 400, not a 500.
    /// </summary>
    public static T Checked<T>(Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or OverflowException)
        {
            throw new BadRequestException("invalid JSON body: a string or number in it cannot be read");
        }
    }

    /// <summary>Sampling settings; max_tokens (<paramref name="max"/>) must already be resolved against the model's context.</summary>
    public static Sampling Sampling(int max, double? temperature, double? topP, int? n, JsonElement stop, long? seed, OpenAiServerOptions limits)
    {
        if (max < 0) throw new BadRequestException($"max_tokens {max}: must not be negative", "max_tokens");
        double t = temperature ?? 1;
        if (t is < 0 or > 2 || double.IsNaN(t)) throw new BadRequestException($"temperature {t}: must be between 0 and 2", "temperature");
        double p = topP ?? 1;
        if (p is <= 0 or > 1 || double.IsNaN(p)) throw new BadRequestException($"top_p {p}: must be greater than 0 and at most 1", "top_p");
        int choices = n ?? 1;
        if (choices is < 1 or > MaxChoices) throw new BadRequestException($"n {choices}: must be between 1 and {MaxChoices}", "n");
        // Seeds are signed on the wire (OpenAI's int64); the bits are the model's unsigned seed.
        return new Sampling(max, t, p, choices, Stops(stop, limits.MaxStopLength), seed is long s ? unchecked((ulong)s) : null);
    }

    /// <summary>Alternatives per token: 0 to 20 (<see cref="SharpLM.Inference.Batching.BatchRequest.MaxTopLogprobs"/>).</summary>
    public static int? TopLogprobs(int? top, string param)
    {
        if (top is int k && (k < 0 || k > SharpLM.Inference.Batching.BatchRequest.MaxTopLogprobs))
            throw new BadRequestException($"{param} {k}: must be between 0 and {SharpLM.Inference.Batching.BatchRequest.MaxTopLogprobs}", param);
        return top;
    }

    /// <summary>
    /// max_tokens checked against the server's cap and, as OpenAI does, against the model's context: prompt and
    /// completion must fit together (400 otherwise). Scoring alone (0 tokens) may exceed the context, since
    /// scores are computed in windows. Without max_tokens, the default or what is left of the context.
    /// </summary>
    public static int MaxTokens(int? requested, int? defaultTokens, IReadOnlyList<int> promptTokens, int contextLength, OpenAiServerOptions limits)
    {
        int longest = promptTokens.Count == 0 ? 0 : promptTokens.Max();
        if (requested is int r)
        {
            if (r < 0) throw new BadRequestException($"max_tokens {r}: must not be negative", "max_tokens");
            if (r > limits.MaxCompletionTokens)
                throw new BadRequestException($"max_tokens {r}: this server generates at most {limits.MaxCompletionTokens} tokens per request", "max_tokens");
            if (r > 0 && (long)longest + r > contextLength)
                throw new BadRequestException($"this model's maximum context length is {contextLength} tokens, however you requested {(long)longest + r} tokens ({longest} in the prompt, {r} for the completion); reduce the prompt or max_tokens", "max_tokens");
            return r;
        }
        int room = contextLength - longest;
        if (room <= 0)
            throw new BadRequestException($"this model's maximum context length is {contextLength} tokens, however the prompt has {longest} tokens", "prompt");
        return Math.Min(Math.Min(defaultTokens ?? room, room), limits.MaxCompletionTokens);
    }

    static IReadOnlyList<string> Stops(JsonElement stop, int maxLength)
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
        if (stops.Any(s => s.Length > maxLength)) throw new BadRequestException($"stop: stop sequences must be at most {maxLength} characters", "stop");
        return stops;
    }

    /// <summary>A prompt string, or an array of them (one choice each). Token-id prompts are refused: send text.</summary>
    public static IReadOnlyList<string> Prompts(JsonElement prompt, OpenAiServerOptions limits)
    {
        const string tokensRefused = "prompt: token-id prompts are not supported; send text";
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return CheckLength([prompt.GetString()!], limits, "prompt");
            case JsonValueKind.Array when prompt.GetArrayLength() > limits.MaxPrompts:
                throw new BadRequestException($"prompt: {prompt.GetArrayLength()} prompts given; this server takes at most {limits.MaxPrompts} per request", "prompt");
            case JsonValueKind.Array when prompt.GetArrayLength() > 0:
                return CheckLength(prompt.EnumerateArray().Select(p => p.ValueKind switch
                {
                    JsonValueKind.String => p.GetString()!,
                    JsonValueKind.Number or JsonValueKind.Array => throw new BadRequestException(tokensRefused, "prompt"),
                    _ => throw new BadRequestException("prompt: array items must be strings", "prompt"),
                }).ToArray(), limits, "prompt");
            case JsonValueKind.Undefined or JsonValueKind.Null:
                throw new BadRequestException("prompt: required", "prompt");
            default:
                throw new BadRequestException("prompt: must be a string or a non-empty array of strings", "prompt");
        }
    }

    /// <summary>
    /// Chat messages; content may be a string or an array of text parts. An assistant message may carry
    /// <c>tool_calls</c> (its content then may be null) and a <c>tool</c> message answers one by <c>tool_call_id</c>.
    /// </summary>
    public static IReadOnlyList<ChatMessage> Messages(JsonElement messages, OpenAiServerOptions limits)
    {
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw new BadRequestException("messages: must be a non-empty array", "messages");
        if (messages.GetArrayLength() > limits.MaxMessages)
            throw new BadRequestException($"messages: {messages.GetArrayLength()} messages given; this server takes at most {limits.MaxMessages}", "messages");
        var result = new List<ChatMessage>();
        int i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            string where = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw new BadRequestException($"{where}: must be an object", "messages");
            string? role = m.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            if (role is not ("system" or "user" or "assistant" or "tool"))
                throw new BadRequestException($"{where}.role: must be \"system\", \"user\", \"assistant\" or \"tool\"", "messages");
            bool hasCalls = role == "assistant" && m.TryGetProperty("tool_calls", out var calls) && calls.ValueKind != JsonValueKind.Null;
            // An assistant message that calls tools may leave its content out or null.
            bool hasContent = m.TryGetProperty("content", out var content) && content.ValueKind != JsonValueKind.Null;
            if (!hasContent && !hasCalls) throw new BadRequestException($"{where}.content: required", "messages");
            string text = hasContent ? Content(content, where) : "";
            if (role == "tool")
            {
                string callId = m.TryGetProperty("tool_call_id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString()!
                    : throw new BadRequestException($"{where}.tool_call_id: required for a tool message", "messages");
                result.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(callId, text)]));
                continue;
            }
            var contents = new List<AIContent>();
            if (text.Length > 0 || !hasCalls) contents.Add(new TextContent(text));
            if (hasCalls) contents.AddRange(ToolCalls(m.GetProperty("tool_calls"), where));
            result.Add(new ChatMessage(new ChatRole(role), contents));
        }
        CheckLength(result.Select(m => m.Text + string.Concat(m.Contents.OfType<FunctionResultContent>().Select(c => c.Result as string))).ToArray(), limits, "messages");
        return result;
    }

    static IEnumerable<FunctionCallContent> ToolCalls(JsonElement calls, string where)
    {
        if (calls.ValueKind != JsonValueKind.Array) throw new BadRequestException($"{where}.tool_calls: must be an array", "messages");
        int j = 0;
        foreach (var call in calls.EnumerateArray())
        {
            string at = $"{where}.tool_calls[{j++}]";
            if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                throw new BadRequestException($"{at}.function: required", "messages");
            string id = call.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString()! : $"call_{j - 1}";
            string name = function.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString()!.Length > 0 ? n.GetString()!
                : throw new BadRequestException($"{at}.function.name: required", "messages");
            // OpenAI sends arguments as a JSON string holding an object.
            var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (function.TryGetProperty("arguments", out var a) && a.ValueKind != JsonValueKind.Null)
            {
                JsonElement parsed;
                try
                {
                    parsed = a.ValueKind == JsonValueKind.String ? JsonDocument.Parse(a.GetString()!).RootElement : a;
                }
                catch (JsonException)
                {
                    throw new BadRequestException($"{at}.function.arguments: not a JSON object", "messages");
                }
                if (parsed.ValueKind != JsonValueKind.Object) throw new BadRequestException($"{at}.function.arguments: not a JSON object", "messages");
                foreach (var p in parsed.EnumerateObject()) arguments[p.Name] = p.Value.Clone();
            }
            yield return new FunctionCallContent(id, name, arguments);
        }
    }

    /// <summary>
    /// The request's tools as declarations (name, description, parameter schema) the chat template describes to the
    /// model; null when there are none or <c>tool_choice</c> is "none". Only function tools and "auto"/"none" choices.
    /// </summary>
    public static IList<AITool>? Tools(JsonElement tools, JsonElement toolChoice)
    {
        string choice = toolChoice.ValueKind switch
        {
            JsonValueKind.Undefined or JsonValueKind.Null => "auto",
            JsonValueKind.String when toolChoice.GetString() is "auto" or "none" => toolChoice.GetString()!,
            _ => throw new BadRequestException("tool_choice: this server supports \"auto\" and \"none\"", "tool_choice"),
        };
        if (tools.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return null;
        if (tools.ValueKind != JsonValueKind.Array) throw new BadRequestException("tools: must be an array", "tools");
        var result = new List<AITool>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        int i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            string where = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || !type.ValueEquals("function"))
                throw new BadRequestException($"{where}.type: only \"function\" tools are supported", "tools");
            if (!tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                throw new BadRequestException($"{where}.function: required", "tools");
            string name = function.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
            if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                throw new BadRequestException($"{where}.function.name: 1 to 64 letters, digits, '_' or '-'", "tools");
            if (!names.Add(name)) throw new BadRequestException($"{where}.function.name: '{name}' is defined twice", "tools");
            string? description = function.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            JsonElement schema = function.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Null ? p.Clone()
                : JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;
            if (schema.ValueKind != JsonValueKind.Object) throw new BadRequestException($"{where}.function.parameters: must be a JSON schema object", "tools");
            result.Add(AIFunctionFactory.CreateDeclaration(name, description, schema));
        }
        return choice == "none" || result.Count == 0 ? null : result;
    }

    /// <summary>Every prompt is encoded and may be scored, so their total size is bounded, not just the body's.</summary>
    static string[] CheckLength(string[] texts, OpenAiServerOptions limits, string param)
    {
        long total = texts.Sum(t => (long)t.Length);
        if (total > limits.MaxPromptCharacters)
            throw new BadRequestException($"{param}: {total} characters in all; this server takes at most {limits.MaxPromptCharacters} per request", param);
        return texts;
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
