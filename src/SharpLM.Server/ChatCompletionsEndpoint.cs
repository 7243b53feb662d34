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
internal sealed class ChatCompletionsEndpoint(ModelAccess access, OpenAiServerOptions limits, ServerMetrics metrics)
{
    /// <summary>A base model continues the transcript past its own turn; this ends the reply there.</summary>
    internal const string NextTurn = "\nUser:";

    /// <param name="cancellation">The client leaving, the request's time budget or the server stopping.</param>
    public async Task HandleAsync(HttpContext context, CancellationToken cancellation)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var body = await RequestReader.ReadAsync<ChatBody>(context.Request, limits.MaxRequestBodyBytes, cancellation);
        IServedModel model = access.Find(body.Model);
        if (body.TopLogprobs is not null && body.Logprobs != true) throw new BadRequestException("top_logprobs: requires logprobs: true", "top_logprobs");
        int? topLogprobs = body.Logprobs == true ? RequestReader.TopLogprobs(body.TopLogprobs, "top_logprobs") ?? 0 : null;
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
        var turn = sampling with { Stop = [.. sampling.Stop, model.ChatTemplate?.EndOfTurn ?? NextTurn] };
        var requests = Enumerable.Range(0, sampling.N).Select(j => turn.For(prompt, j) with { StopAtSpecialTokens = true, TopLogprobs = topLogprobs }).ToArray();
        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        bool firstToken = false;
        void FirstToken()
        {
            if (firstToken) return;
            firstToken = true;
            metrics.FirstToken(clock.Elapsed);
        }
        IAsyncEnumerable<Inference.Batching.GeneratedPiece> Generate(GenerationRequest request, CancellationToken token) =>
            request.MaxTokens == 0 ? Choices.Empty(model.CountTokens(prompt)) : model.GenerateAsync(request, token);

        using var lease = access.Enter();
        if (body.Stream == true && tools is null)
        {
            var events = new EventStream(context.Response);
            var started = new bool[requests.Length];
            int completionTokens = 0, promptTokens = 0;
            // The first piece is read before the stream starts, so a prompt the model rejects gets a 400.
            await foreach (var (index, piece) in Choices.Merge(requests.Select(r => (Func<CancellationToken, IAsyncEnumerable<Inference.Batching.GeneratedPiece>>)(t => Generate(r, t))).ToArray(), cancellation))
            {
                if (piece.Token is not null)
                {
                    FirstToken();
                    completionTokens++;
                }
                promptTokens = piece.End?.PromptTokens ?? promptTokens;
                var logprobs = topLogprobs is int top && piece.Token is { } token ? new ChatLogprobsResult([Logprob(token, top)]) : null;
                if (piece.Text.Length == 0 && logprobs is null && piece.End is null && started[index]) continue;
                await events.SendAsync(Chunk(index, new ChatMessageResult(started[index] ? null : "assistant", piece.Text.Length > 0 || piece.End is null ? piece.Text : null), piece.End?.Reason, logprobs), cancellation);
                started[index] = true;
            }
            if (body.StreamOptions?.IncludeUsage == true)
                await events.SendAsync(new ChatResult(id, "chat.completion.chunk", created, model.Id, [], CompletionsEndpoint.Usage(promptTokens, completionTokens)), cancellation);
            await events.DoneAsync(cancellation);
            return;
        }

        var completed = await Task.WhenAll(requests.Select(r => Choices.CollectAsync(Generate(r, cancellation), FirstToken)));
        // With tools the reply is parsed whole: a call is only known once its closing tag is written.
        var replies = completed.Select(done => Message(done.Text, done.End.Reason, tools is not null)).ToArray();
        ChatLogprobsResult? Logprobs(int c) => topLogprobs is int top ? new ChatLogprobsResult(completed[c].Tokens.Select(t => Logprob(t, top)).ToArray()) : null;
        var usage = CompletionsEndpoint.Usage(completed[0].End.PromptTokens, completed.Sum(d => d.End.GeneratedTokens));
        if (body.Stream == true)
        {
            var events = new EventStream(context.Response);
            for (int c = 0; c < replies.Length; c++)
            {
                var (message, reason) = replies[c];
                var delta = message with { ToolCalls = message.ToolCalls?.Select((call, i) => call with { Index = i }).ToArray() };
                await events.SendAsync(Chunk(c, delta, null, Logprobs(c)), cancellation);
                await events.SendAsync(Chunk(c, new ChatMessageResult(null, null), reason, null), cancellation);
            }
            if (body.StreamOptions?.IncludeUsage == true)
                await events.SendAsync(new ChatResult(id, "chat.completion.chunk", created, model.Id, [], usage), cancellation);
            await events.DoneAsync(cancellation);
            return;
        }
        var choices = replies.Select((r, c) => new ChatChoiceResult(c, r.Message, null, r.Finish, Logprobs(c))).ToArray();
        await context.Response.WriteAsJsonAsync(new ChatResult(id, "chat.completion", created, model.Id, choices, usage), ServerJson.Options, cancellation);

        ChatResult Chunk(int index, ChatMessageResult delta, string? finishReason, ChatLogprobsResult? logprobs) =>
            new(id, "chat.completion.chunk", created, model.Id, [new ChatChoiceResult(index, null, delta, finishReason, logprobs)]);
    }

    /// <summary>OpenAI's entry for one token: its text, log probability, UTF-8 bytes and <paramref name="top"/> alternatives.</summary>
    static ChatTokenLogprob Logprob(Inference.Batching.GeneratedToken token, int top) =>
        new(token.Text, token.LogProbability ?? 0, Bytes(token.Text),
            (token.Top ?? []).Take(top).Select(a => new ChatTokenLogprob(a.Text, a.LogProbability, Bytes(a.Text), null)).ToArray());

    static int[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();

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
