using Microsoft.Extensions.AI;

namespace SharpLM.Tests.Utilization;

/// <summary>A chat client that answers a single user message as a test decides, recording each prompt and its options.</summary>
internal sealed class ScriptedChatClient(Func<string, string> reply) : IChatClient
{
    public List<(string Prompt, ChatOptions? Options)> Seen { get; } = [];

    /// <summary>Writes <paramref name="steps"/> in turn, repeating the last.</summary>
    public static ScriptedChatClient Steps(params string[] steps)
    {
        int next = 0;
        return new ScriptedChatClient(_ => steps[Math.Min(next++, steps.Length - 1)]);
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        string prompt = Assert.Single(messages).Text;
        Seen.Add((prompt, options));
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, reply(prompt))));
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public object? GetService(Type serviceType, object? serviceKey = null) => null;
    public void Dispose() { }
}
