using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using SharpLM.Inference;

namespace SharpLM.Server;

/// <summary>
/// POST /v1/chat/completions. A model with a chat template (an SFT run) gets the messages rendered by
/// <see cref="ChatPrompt"/>, as <see cref="CheckpointChatClient"/> renders them, and stops at the template's end of turn;
/// with <c>tools</c> the reply's calls come back as OpenAI <c>tool_calls</c> (finish reason "tool_calls") and the
/// client's <c>tool</c> messages go back to the model as results. A base model gets a plain transcript ("User: …"
/// lines ending in "Assistant:") and stops where it starts the next user turn; it cannot take tools.
/// </summary>
internal sealed class ChatCompletionsEndpoint(ModelAccess access, OpenAiServerOptions limits)
{
    /// <summary>A base model continues the transcript past its own turn; this ends the reply there.</summary>
    internal const string NextTurn = "\nUser:";

    /// <param name="cancellation">The client leaving, the request's time budget or the server stopping.</param>
    public async Task HandleAsync(HttpContext context, CancellationToken cancellation)
    {
        var body = await RequestReader.ReadAsync<ChatBody>(context.Request, limits.MaxRequestBodyBytes, cancellation);
        IServedModel model = access.Model;
        if (body.Logprobs == true) throw new BadRequestException("logprobs: not supported for chat completions; use /v1/completions with echo", "logprobs");
        var (prompt, sampling, tools) = RequestReader.Checked(() =>
        {
            var messages = RequestReader.Messages(body.Messages, limits);
            var tools = RequestReader.Tools(body.Tools, body.ToolChoice);
            string prompt = Prompt(model, messages, tools);
            int? requested = body.MaxCompletionTokens ?? body.MaxTokens;
            // Without max_tokens the reply may fill what the prompt leaves of the context.
            IReadOnlyList<int> lengths = requested is 0 or < 0 ? [] : [model.CountTokens(prompt)];
            int max = RequestReader.MaxTokens(requested, null, lengths, model.ContextLength, limits);
            return (prompt, RequestReader.Sampling(max, body.Temperature, body.TopP, body.N, body.Stop, body.Seed, limits), tools);
        });
        // A reply ends at the end of its turn and at any special token (a model that starts the next turn itself).
        string[] stops = [.. sampling.Stop, model.ChatTemplate?.EndOfTurn ?? NextTurn, .. model.SpecialTokens];
        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string finish = sampling.MaxTokens == 0 ? "length" : "stop"; // as for completions: the model does not say why it stopped

        IEnumerable<string> Generate(CancellationToken token) => sampling.MaxTokens == 0 ? [] : model.Generate(prompt, sampling.MaxTokens, sampling.Temperature, sampling.Seed, stops, token);

        if (body.Stream == true && tools is null)
        {
            var events = new EventStream(context.Response);
            using (await access.EnterAsync(cancellation))
            await using (var pieces = new GenerationPump(Generate, cancellation))
            {
                // The first piece is awaited before the stream starts, so a prompt the model rejects gets a 400.
                bool first = true;
                while (await pieces.MoveNextAsync())
                {
                    await events.SendAsync(Chunk(new ChatMessageResult(first ? "assistant" : null, pieces.Current), null), cancellation);
                    first = false;
                }
                await events.SendAsync(Chunk(new ChatMessageResult(first ? "assistant" : null, null), finish), cancellation);
            }
            await events.DoneAsync(cancellation);
            return;
        }

        string reply;
        using (await access.EnterAsync(cancellation)) reply = await GenerationThread.Run(() => string.Concat(Generate(cancellation)));
        // With tools the reply is parsed whole: a call is only known once its closing tag is written.
        var (message, reason) = Message(reply, finish, tools is not null);
        if (body.Stream == true)
        {
            var events = new EventStream(context.Response);
            var delta = message with { ToolCalls = message.ToolCalls?.Select((c, i) => c with { Index = i }).ToArray() };
            await events.SendAsync(Chunk(delta, null), cancellation);
            await events.SendAsync(Chunk(new ChatMessageResult(null, null), reason), cancellation);
            await events.DoneAsync(cancellation);
            return;
        }
        var choice = new ChatChoiceResult(0, message, null, reason);
        await context.Response.WriteAsJsonAsync(new ChatResult(id, "chat.completion", created, model.Id, [choice]), ServerJson.Options, cancellation);

        ChatResult Chunk(ChatMessageResult delta, string? finishReason) =>
            new(id, "chat.completion.chunk", created, model.Id, [new ChatChoiceResult(0, null, delta, finishReason)]);
    }

    /// <summary>What the model continues: its chat template's rendering, or the plain transcript of a base model.</summary>
    static string Prompt(IServedModel model, IReadOnlyList<ChatMessage> messages, IList<AITool>? tools)
    {
        if (model.ChatTemplate is { } template) return ChatPrompt.Render(template, messages, new ChatOptions { Tools = tools });
        if (tools is not null)
            throw new BadRequestException($"tools: {model.Id} has no chat template (it was not instruction-tuned), so it cannot be told about tools", "tools");
        if (messages.Any(m => m.Role == ChatRole.Tool || m.Contents.OfType<FunctionCallContent>().Any()))
            throw new BadRequestException($"messages: {model.Id} has no chat template, so tool calls and tool messages cannot be rendered", "messages");
        return Prompt(messages.Select(m => (m.Role.Value, m.Text)).ToArray());
    }

    internal static string Prompt(IReadOnlyList<(string Role, string Content)> messages) =>
        string.Concat(messages.Select(m => $"{char.ToUpperInvariant(m.Role[0])}{m.Role[1..]}: {m.Content}\n")) + "Assistant:";

    /// <summary>The reply as OpenAI's message: with tools, the calls it wrote as <c>tool_calls</c> (content null when nothing else was written).</summary>
    static (ChatMessageResult Message, string Finish) Message(string reply, string finish, bool toolsOffered)
    {
        var (message, reason) = ChatPrompt.Reply(reply, null, toolsOffered);
        var calls = message.Contents.OfType<FunctionCallContent>().Select(c => new ToolCallResult(null, "call_" + Guid.NewGuid().ToString("N")[..24], "function",
            new FunctionCallResult(c.Name, ToolCallFormat.Arguments(c).ToJsonString(ToolCallFormat.AsWritten)))).ToArray();
        if (calls.Length == 0) return (new ChatMessageResult("assistant", reply), finish);
        return (new ChatMessageResult("assistant", message.Text.Length > 0 ? message.Text : null, calls), "tool_calls");
    }
}
