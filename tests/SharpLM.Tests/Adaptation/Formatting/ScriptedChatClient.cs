using Microsoft.Extensions.AI;

namespace SharpLM.Tests.Adaptation.Formatting;

/// <summary>An <see cref="IChatClient"/> that answers with scripted replies in order and records what it was sent.</summary>
internal sealed class ScriptedChatClient(params (string Text, ChatFinishReason Finish)[] replies) : IChatClient
{
    readonly Queue<(string Text, ChatFinishReason Finish)> queue = new(replies);

    public List<string> Prompts { get; } = [];
    public List<ChatOptions?> Options { get; } = [];

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Prompts.Add(string.Join("\n", messages.Select(m => m.Text)));
        Options.Add(options);
        var (text, finish) = queue.Count > 0 ? queue.Dequeue() : ("", ChatFinishReason.Stop);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { FinishReason = finish });
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose() { }
}
