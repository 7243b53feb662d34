using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace SharpLM.Evaluation.Models;

/// <summary>
/// <see cref="IChatClient"/> over an OpenAI-compatible <c>/chat/completions</c> endpoint, with the same timeouts,
/// retries and concurrency limit as <see cref="OpenAiCompatibleModel"/>. Text only: tools are refused.
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
    /// the single choice's reply.</summary>
    /// <exception cref="NotSupportedException">The options carry tools.</exception>
    /// <exception cref="OpenAiCompatibleException">The request failed (after the retries it allows), or the response is
    /// malformed.</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var response = await transport.PostAsync<ChatResponseWire>(Path, Request(messages, options, stream: false), cancellationToken);
        var choice = SingleChoice(response);
        string content = choice.Message?.Content ?? throw OpenAiTransport.Malformed(transport.Url(Path), "choices[0].message.content is missing");
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, content))
        {
            ResponseId = response.Id, ModelId = response.Model, FinishReason = FinishReason(choice.FinishReason),
        };
    }

    /// <summary>As <see cref="GetResponseAsync"/>, streamed: one update per server-sent chunk that has a choice.</summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var chunk in transport.StreamAsync<ChatResponseWire>(Path, Request(messages, options, stream: true), cancellationToken))
        {
            if (chunk.Error is { } error) throw OpenAiTransport.Malformed(transport.Url(Path), $"error in the event stream: {OpenAiTransport.ErrorSummary(error)}");
            // Some servers end with a chunk that has no choices (usage only).
            if (chunk.Choices is not { Count: > 0 }) continue;
            var choice = SingleChoice(chunk);
            yield return new ChatResponseUpdate(ChatRole.Assistant, choice.Delta?.Content)
            {
                ResponseId = chunk.Id, ModelId = chunk.Model, FinishReason = FinishReason(choice.FinishReason),
            };
        }
    }

    ChatRequest Request(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream)
    {
        if (options?.Tools is { Count: > 0 }) throw new NotSupportedException("OpenAiCompatibleChatClient does not support tools");
        var wire = new List<ChatMessageWire>();
        if (options?.Instructions is { } instructions) wire.Add(new ChatMessageWire("system", instructions));
        wire.AddRange(messages.Select(m => new ChatMessageWire(m.Role.Value, m.Text)));
        return new ChatRequest(options?.ModelId ?? transport.Options.Model, wire, options?.MaxOutputTokens, options?.Temperature, options?.TopP,
            options?.StopSequences is { Count: > 0 } stop ? stop.ToArray() : null, options?.Seed, stream ? true : null);
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
