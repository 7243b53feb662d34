using Microsoft.AspNetCore.Http;

namespace SharpLM.Server;

/// <summary>
/// POST /v1/completions: text for one or more prompts; with <c>echo</c> and <c>logprobs</c> the prompt's own
/// tokens are scored, which is how evaluation harnesses get log-likelihoods (<c>max_tokens: 0</c> scores only).
/// </summary>
internal sealed class CompletionsEndpoint(ModelAccess access, OpenAiServerOptions limits)
{
    const int DefaultMaxTokens = 16; // OpenAI's default for this endpoint

    /// <param name="cancellation">The client leaving, the request's time budget or the server stopping.</param>
    public async Task HandleAsync(HttpContext context, CancellationToken cancellation)
    {
        var body = await RequestReader.ReadAsync<CompletionBody>(context.Request, limits.MaxRequestBodyBytes, cancellation);
        IServedModel model = access.Model;
        var (prompts, sampling) = RequestReader.Checked(() =>
        {
            var prompts = RequestReader.Prompts(body.Prompt, limits);
            // Scoring only (max_tokens 0) needs no room in the context, so the prompts need not be counted.
            IReadOnlyList<int> lengths = body.MaxTokens is 0 or < 0 ? [] : prompts.Select(model.CountTokens).ToArray();
            int max = RequestReader.MaxTokens(body.MaxTokens, DefaultMaxTokens, lengths, model.ContextLength, limits);
            return (prompts, RequestReader.Sampling(max, body.Temperature, body.TopP, body.N, body.Stop, body.Seed, limits));
        });
        if (body.Logprobs is < 0 or > 1)
            throw new BadRequestException($"logprobs {body.Logprobs}: this server gives at most the top 1 alternative per token", "logprobs");
        bool echo = body.Echo ?? false;
        string id = "cmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        if (body.Stream == true)
        {
            if (echo || body.Logprobs is not null)
                throw new BadRequestException("stream: echo and logprobs are not supported when streaming", "stream");
            var events = new EventStream(context.Response);
            using (await access.EnterAsync(cancellation))
            {
                for (int i = 0; i < prompts.Count; i++)
                {
                    string prompt = prompts[i];
                    // The first piece is awaited before the stream starts, so a prompt the model rejects gets a 400.
                    await using (var pieces = new GenerationPump(token => Generate(model, prompt, sampling, token), cancellation))
                        while (await pieces.MoveNextAsync())
                            await events.SendAsync(Chunk(i, pieces.Current, null), cancellation);
                    await events.SendAsync(Chunk(i, "", FinishReason(sampling)), cancellation);
                }
            }
            await events.DoneAsync(cancellation);
            return;
        }

        List<CompletionChoiceResult> choices;
        using (await access.EnterAsync(cancellation))
            choices = await GenerationThread.Run(() =>
            {
                var results = new List<CompletionChoiceResult>();
                for (int i = 0; i < prompts.Count; i++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    results.Add(Complete(model, i, prompts[i], sampling, echo, body.Logprobs, cancellation));
                }
                return results;
            });
        await context.Response.WriteAsJsonAsync(new CompletionResult(id, "text_completion", created, model.Id, choices), ServerJson.Options, cancellation);

        CompletionResult Chunk(int index, string text, string? finish) =>
            new(id, "text_completion", created, model.Id, [new CompletionChoiceResult(index, text, null, finish)]);
    }

    static IEnumerable<string> Generate(IServedModel model, string prompt, Sampling s, CancellationToken cancellation) =>
        s.MaxTokens == 0 ? [] : model.Generate(prompt, s.MaxTokens, s.Temperature, s.Seed, s.Stop, cancellation);

    /// <summary>
    /// The model reports text, not why it stopped, so a length cut cannot be told from a stop string or the end of
    /// text; only max_tokens 0 is certainly "length".
    /// </summary>
    static string FinishReason(Sampling s) => s.MaxTokens == 0 ? "length" : "stop";

    static CompletionChoiceResult Complete(IServedModel model, int index, string prompt, Sampling sampling, bool echo, int? logprobs, CancellationToken cancellation)
    {
        string completion = string.Concat(Generate(model, prompt, sampling, cancellation));
        cancellation.ThrowIfCancellationRequested();
        LogprobsResult? scores = null;
        if (logprobs is int top)
        {
            // Generated tokens are scored by re-reading prompt + completion: one forward pass gives them all.
            string full = prompt + completion;
            scores = echo || completion.Length > 0
                ? Logprobs(model.Score(full), full, echo ? 0 : prompt.Length, top)
                : new LogprobsResult([], [], [], []);
        }
        return new CompletionChoiceResult(index, echo ? prompt + completion : completion, scores, FinishReason(sampling));
    }

    /// <summary>OpenAI's logprobs object for the tokens from UTF-16 offset <paramref name="from"/> on.</summary>
    static LogprobsResult Logprobs(IReadOnlyList<ScoredToken> scored, string text, int from, int top)
    {
        var tokens = scored.Where(t => t.Offset >= from).ToArray();
        int[] codePoints = CodePointOffsets(text);
        return new LogprobsResult(
            tokens.Select(t => t.Text).ToArray(),
            tokens.Select(t => t.LogProbability).ToArray(),
            tokens.Select(t => t.Top is not { } alt ? null : top == 0 ? [] : new Dictionary<string, double> { [alt.Text] = alt.LogProbability }).ToArray(),
            tokens.Select(t => codePoints[t.Offset]).ToArray());
    }

    /// <summary>
    /// For each UTF-16 offset, the offset in Unicode code points: OpenAI's text_offset indexes Python strings, so
    /// a character outside the BMP (an emoji) counts once, not twice.
    /// </summary>
    internal static int[] CodePointOffsets(string text)
    {
        var result = new int[text.Length + 1];
        for (int i = 0; i < text.Length; i++)
            result[i + 1] = result[i] + (char.IsLowSurrogate(text[i]) && i > 0 && char.IsHighSurrogate(text[i - 1]) ? 0 : 1);
        return result;
    }
}
