using Microsoft.AspNetCore.Http;

namespace SharpLM.Server;

/// <summary>
/// POST /v1/chat/completions over a model that has no chat template: the messages become a plain transcript
/// ("User: …" lines) ending in "Assistant:", and generation stops where the model starts the next user turn.
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
        var (prompt, sampling) = RequestReader.Checked(() =>
        {
            string prompt = Prompt(RequestReader.Messages(body.Messages, limits));
            int? requested = body.MaxCompletionTokens ?? body.MaxTokens;
            // Without max_tokens the reply may fill what the prompt leaves of the context.
            IReadOnlyList<int> lengths = requested is 0 or < 0 ? [] : [model.CountTokens(prompt)];
            int max = RequestReader.MaxTokens(requested, null, lengths, model.ContextLength, limits);
            return (prompt, RequestReader.Sampling(max, body.Temperature, body.TopP, body.N, body.Stop, body.Seed, limits));
        });
        string[] stops = [.. sampling.Stop, NextTurn];
        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string finish = sampling.MaxTokens == 0 ? "length" : "stop"; // as for completions: the model does not say why it stopped

        IEnumerable<string> Generate(CancellationToken token) => sampling.MaxTokens == 0 ? [] : model.Generate(prompt, sampling.MaxTokens, sampling.Temperature, sampling.Seed, stops, token);

        if (body.Stream == true)
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
        var choice = new ChatChoiceResult(0, new ChatMessageResult("assistant", reply), null, finish);
        await context.Response.WriteAsJsonAsync(new ChatResult(id, "chat.completion", created, model.Id, [choice]), ServerJson.Options, cancellation);

        ChatResult Chunk(ChatMessageResult delta, string? finishReason) =>
            new(id, "chat.completion.chunk", created, model.Id, [new ChatChoiceResult(0, null, delta, finishReason)]);
    }

    internal static string Prompt(IReadOnlyList<(string Role, string Content)> messages) =>
        string.Concat(messages.Select(m => $"{char.ToUpperInvariant(m.Role[0])}{m.Role[1..]}: {m.Content}\n")) + "Assistant:";
}
