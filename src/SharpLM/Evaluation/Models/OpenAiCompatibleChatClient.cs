using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using SharpLM.Inference;

namespace SharpLM.Evaluation.Models;

/// <summary>
/// <see cref="IChatClient"/> over an OpenAI-compatible <c>/chat/completions</c> endpoint, with the same timeouts,
/// retries and concurrency limit as <see cref="OpenAiCompatibleModel"/>. Function tools travel in OpenAI's wire format:
/// <see cref="ChatOptions.Tools"/> as <c>tools</c>, <see cref="ChatOptions.ToolMode"/> as <c>tool_choice</c>, the reply's
/// <c>tool_calls</c> as <see cref="FunctionCallContent"/> (arguments that are not a JSON object become the call's
/// <see cref="FunctionCallContent.Exception"/>, which a function-invoking client reports back to the model), and
/// <see cref="FunctionResultContent"/> as <c>tool</c> messages.
/// Written against Microsoft.Extensions.AI.Abstractions alone because Microsoft.Extensions.AI.OpenAI brings the
/// OpenAI SDK, which has no legacy <c>/completions</c> client for echoed log-probabilities anyway.
/// </summary>
public sealed class OpenAiCompatibleChatClient : IChatClient
{
    const string Path = "chat/completions";
    readonly OpenAiTransport transport;
    readonly bool ownsTransport;
    readonly ChatClientMetadata metadata;

    /// <summary>A client with its own connection, limits and retries, from <paramref name="options"/>.</summary>
    /// <exception cref="InvalidInputException">The options are invalid.</exception>
    public OpenAiCompatibleChatClient(OpenAiCompatibleOptions options) : this(new OpenAiTransport(options), ownsTransport: true) { }

    internal OpenAiCompatibleChatClient(OpenAiTransport transport, bool ownsTransport)
    {
        this.transport = transport;
        this.ownsTransport = ownsTransport;
        metadata = new ChatClientMetadata("openai-compatible", transport.Options.BaseUrl, transport.Options.Model);
    }

    /// <summary>Sends the messages (with <see cref="ChatOptions.Instructions"/> as a leading system message) and returns
    /// the single choice's reply: its text and its tool calls.</summary>
    /// <exception cref="NotSupportedException">The options carry a tool that is not a function.</exception>
    /// <exception cref="OpenAiCompatibleException">The request failed (after the retries it allows), or the response is
    /// malformed.</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var response = await transport.PostAsync<ChatResponseWire>(Path, Request(messages, options, stream: false), cancellationToken);
        var choice = SingleChoice(response);
        var message = choice.Message ?? throw OpenAiTransport.Malformed(transport.Url(Path), "choices[0].message is missing");
        if (message.Content is null && message.ToolCalls is not { Count: > 0 })
            throw OpenAiTransport.Malformed(transport.Url(Path), "choices[0].message.content is missing");
        var contents = new List<AIContent>();
        if (message.Content is { Length: > 0 } || message.ToolCalls is not { Count: > 0 }) contents.Add(new TextContent(message.Content ?? ""));
        contents.AddRange((message.ToolCalls ?? []).Select((c, i) => Call(c.Id, c.Function?.Name, c.Function?.Arguments, $"choices[0].message.tool_calls[{i}]")));
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents))
        {
            ResponseId = response.Id, ModelId = response.Model, FinishReason = FinishReason(choice.FinishReason),
        };
    }

    /// <summary>As <see cref="GetResponseAsync"/>, streamed: one update per server-sent chunk that has a choice. Tool
    /// calls arrive in fragments (name, then pieces of the arguments); they are put together and sent as one update when
    /// the choice finishes.</summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var calls = new SortedDictionary<int, (string? Id, string? Name, System.Text.StringBuilder Arguments)>();
        string? responseId = null, modelId = null;
        await foreach (var chunk in transport.StreamAsync<ChatResponseWire>(Path, Request(messages, options, stream: true), cancellationToken))
        {
            if (chunk.Error is { } error) throw OpenAiTransport.Malformed(transport.Url(Path), $"error in the event stream: {OpenAiTransport.ErrorSummary(error)}");
            // Some servers end with a chunk that has no choices (usage only).
            if (chunk.Choices is not { Count: > 0 }) continue;
            (responseId, modelId) = (chunk.Id ?? responseId, chunk.Model ?? modelId);
            var choice = SingleChoice(chunk);
            foreach (var fragment in choice.Delta?.ToolCalls ?? [])
            {
                int index = fragment.Index ?? calls.Count;
                var (id, name, arguments) = calls.TryGetValue(index, out var known) ? known : (null, null, new System.Text.StringBuilder());
                calls[index] = (fragment.Id ?? id, fragment.Function?.Name ?? name, arguments.Append(fragment.Function?.Arguments));
            }
            bool finished = choice.FinishReason is not null;
            if (choice.Delta?.Content is not null || finished && calls.Count == 0)
                yield return new ChatResponseUpdate(ChatRole.Assistant, choice.Delta?.Content)
                {
                    ResponseId = chunk.Id, ModelId = chunk.Model, FinishReason = calls.Count == 0 ? FinishReason(choice.FinishReason) : null,
                };
            if (finished && calls.Count > 0)
            {
                yield return CallsUpdate(FinishReason(choice.FinishReason));
                calls.Clear();
            }
        }
        if (calls.Count > 0) yield return CallsUpdate(null);

        ChatResponseUpdate CallsUpdate(ChatFinishReason? finish) =>
            new(ChatRole.Assistant, calls.Select(c => (AIContent)Call(c.Value.Id, c.Value.Name, c.Value.Arguments.ToString(), $"tool_calls[{c.Key}]")).ToList())
            {
                ResponseId = responseId, ModelId = modelId, FinishReason = finish,
            };
    }

    /// <summary>A call from the wire; arguments that do not parse as a JSON object are kept as the call's exception.</summary>
    FunctionCallContent Call(string? id, string? name, string? arguments, string where)
    {
        if (string.IsNullOrEmpty(name)) throw OpenAiTransport.Malformed(transport.Url(Path), $"{where}.function.name is missing");
        return FunctionCallContent.CreateFromParsedArguments(string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments, id ?? where, name, json =>
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("the arguments are not a JSON object");
            return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        });
    }

    ChatRequest Request(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream)
    {
        var wire = new List<ChatMessageWire>();
        if (options?.Instructions is { } instructions) wire.Add(new ChatMessageWire("system", instructions));
        foreach (var message in messages)
        {
            if (message.Role == ChatRole.Tool)
            {
                // One tool message per result, each naming the call it answers.
                wire.AddRange(message.Contents.OfType<FunctionResultContent>().Select(r => new ChatMessageWire("tool", ToolCallFormat.ResultText(r), null, r.CallId)));
                continue;
            }
            var calls = message.Contents.OfType<FunctionCallContent>()
                .Select(c => new ToolCallWire(null, c.CallId, "function", new FunctionCallWire(c.Name, ToolCallFormat.Arguments(c).ToJsonString(ToolCallFormat.AsWritten)))).ToArray();
            wire.Add(calls.Length == 0
                ? new ChatMessageWire(message.Role.Value, message.Text)
                : new ChatMessageWire(message.Role.Value, message.Text.Length > 0 ? message.Text : null, calls));
        }
        ToolWire[]? tools = null;
        object? toolChoice = null;
        if (options?.Tools is { Count: > 0 } offered)
        {
            tools = offered.Select(t => t is AIFunctionDeclaration f
                ? new ToolWire("function", new FunctionWire(f.Name, f.Description, f.JsonSchema))
                : throw new NotSupportedException($"OpenAiCompatibleChatClient: tool '{t.Name}' is not a function ({t.GetType().Name})")).ToArray();
            toolChoice = options.ToolMode switch
            {
                NoneChatToolMode => "none",
                RequiredChatToolMode { RequiredFunctionName: { } name } => new { type = "function", function = new { name } },
                RequiredChatToolMode => "required",
                _ => null, // auto, the API's default
            };
        }
        return new ChatRequest(options?.ModelId ?? transport.Options.Model, wire, options?.MaxOutputTokens, options?.Temperature, options?.TopP,
            options?.StopSequences is { Count: > 0 } stop ? stop.ToArray() : null, options?.Seed, stream ? true : null, tools, toolChoice);
    }

    ChatChoiceWire SingleChoice(ChatResponseWire response)
    {
        Uri url = transport.Url(Path);
        if (response.Choices is null)
            throw response.Error is { } error
                ? OpenAiTransport.Malformed(url, $"error instead of choices: {OpenAiTransport.ErrorSummary(error)}")
                : OpenAiTransport.Malformed(url, "no 'choices' array");
        if (response.Choices.Count != 1) throw OpenAiTransport.Malformed(url, $"expected 1 choice, got {response.Choices.Count}");
        return response.Choices[0];
    }

    static ChatFinishReason? FinishReason(string? reason) => reason switch
    {
        null => null,
        "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        "tool_calls" => ChatFinishReason.ToolCalls,
        "content_filter" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(reason),
    };

    /// <summary>This client, or its <see cref="ChatClientMetadata"/> (provider "openai-compatible", the base URL and
    /// model); null for anything else or any key.</summary>
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    /// <summary>Releases the HTTP connection, unless it is shared with an <see cref="OpenAiCompatibleModel"/>.</summary>
    public void Dispose()
    {
        if (ownsTransport) transport.Dispose();
    }
}
