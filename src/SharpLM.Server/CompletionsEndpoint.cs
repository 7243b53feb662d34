using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using SharpLM.Inference.Batching;

namespace SharpLM.Server;

/// <summary>
/// POST /v1/completions: text for one or more prompts, <c>n</c> choices each, all generated side by side in the
/// model's batch. With <c>echo</c> and <c>logprobs</c> the prompt's own tokens are scored, which is how evaluation
/// harnesses get log-likelihoods (<c>max_tokens: 0</c> scores only); generated tokens carry the log probabilities
/// they were sampled with.
/// </summary>
internal sealed class CompletionsEndpoint(ModelAccess access, OpenAiServerOptions limits, ServerMetrics metrics)
{
    const int DefaultMaxTokens = 16; // OpenAI's default for this endpoint

    /// <param name="cancellation">The client leaving, the request's time budget or the server stopping.</param>
    public async Task HandleAsync(HttpContext context, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var body = await RequestReader.ReadAsync<CompletionBody>(context.Request, limits.MaxRequestBodyBytes, cancellation);
        IServedModel model = access.Find(body.Model);
        var (prompts, sampling) = RequestReader.Checked(() =>
        {
            var prompts = RequestReader.Prompts(body.Prompt, limits);
            // Scoring only (max_tokens 0) needs no room in the context, so the prompts need not be counted.
            IReadOnlyList<int> lengths = body.MaxTokens is 0 or < 0 ? [] : prompts.Select(model.CountTokens).ToArray();
            int max = RequestReader.MaxTokens(body.MaxTokens, DefaultMaxTokens, lengths, model.ContextLength, limits);
            return (prompts, RequestReader.Sampling(max, body.Temperature, body.TopP, body.N, body.Stop, body.Seed, limits));
        });
        int? logprobs = RequestReader.TopLogprobs(body.Logprobs, "logprobs");
        bool echo = body.Echo ?? false;
        if (body.Stream == true && echo) throw new BadRequestException("stream: echo is not supported when streaming", "echo");
        string id = "cmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        // Choice i·n + j is the j-th choice for prompt i, as OpenAI numbers them.
        var requests = prompts.SelectMany((prompt, i) => Enumerable.Range(0, sampling.N).Select(j => sampling.For(prompt, j) with { TopLogprobs = logprobs })).ToArray();
        bool firstToken = false;
        void FirstToken()
        {
            if (firstToken) return;
            firstToken = true;
            metrics.FirstToken(clock.Elapsed);
        }

        using var lease = access.Enter();
        if (body.Stream == true)
        {
            var events = new EventStream(context.Response);
            // Offsets count from the prompt's start, as OpenAI's do.
            var offsets = requests.Select(r => CodePointOffsets(r.Prompt)[^1]).ToArray();
            int promptTokens = prompts.Sum(model.CountTokens), completionTokens = 0;
            var generations = requests.Select(r => Generation(model, r)).ToArray();
            // The first piece is read before the stream starts, so a prompt the model rejects gets a 400.
            await foreach (var (index, piece) in Choices.Merge(generations, cancellation))
            {
                LogprobsResult? scores = null;
                if (piece.Token is { } token)
                {
                    FirstToken();
                    completionTokens++;
                    if (logprobs is int top)
                    {
                        var built = new LogprobsBuilder(top);
                        offsets[index] = built.AddGenerated(token, offsets[index]);
                        scores = built.Build();
                    }
                }
                if (piece.Text.Length > 0 || scores is not null || piece.End is not null)
                    await events.SendAsync(Chunk(index, piece.Text, scores, piece.End?.Reason), cancellation);
            }
            if (body.StreamOptions?.IncludeUsage == true)
                await events.SendAsync(new CompletionResult(id, "text_completion", created, model.Id, [], Usage(promptTokens, completionTokens)), cancellation);
            await events.DoneAsync(cancellation);
            return;
        }

        var completed = await Task.WhenAll(requests.Select(r => Choices.CollectAsync(Generation(model, r)(cancellation), FirstToken)));
        var choices = new List<CompletionChoiceResult>();
        for (int c = 0; c < requests.Length; c++)
        {
            string prompt = requests[c].Prompt;
            var done = completed[c];
            LogprobsResult? scores = null;
            if (logprobs is int top)
            {
                var built = new LogprobsBuilder(top);
                // Offsets count from the prompt's start, echoed or not, as OpenAI's do.
                int offset = CodePointOffsets(prompt)[^1];
                if (echo) built.AddScored(await model.ScoreAsync(prompt, Math.Max(1, top), cancellation), prompt);
                foreach (var token in done.Tokens) offset = built.AddGenerated(token, offset);
                scores = built.Build();
            }
            choices.Add(new CompletionChoiceResult(c, echo ? prompt + done.Text : done.Text, scores, done.End.Reason));
        }
        // The prompt counts once however many choices it has.
        int promptTotal = completed.Where((_, c) => c % sampling.N == 0).Sum(d => d.End.PromptTokens);
        await context.Response.WriteAsJsonAsync(new CompletionResult(id, "text_completion", created, model.Id, choices,
            Usage(promptTotal, completed.Sum(d => d.End.GeneratedTokens))), ServerJson.Options, cancellation);

        CompletionResult Chunk(int index, string text, LogprobsResult? scores, string? finish) =>
            new(id, "text_completion", created, model.Id, [new CompletionChoiceResult(index, text, scores, finish)]);
    }

    internal static UsageResult Usage(int prompt, int completion) => new(prompt, completion, prompt + completion);

    /// <summary>A choice's generation; max_tokens 0 generates nothing and ends at once ("length"), without the model.</summary>
    static Func<CancellationToken, IAsyncEnumerable<GeneratedPiece>> Generation(IServedModel model, GenerationRequest request) => token =>
        request.MaxTokens == 0 ? Choices.Empty(model.CountTokens(request.Prompt)) : model.GenerateAsync(request, token);

    /// <summary>OpenAI's logprobs object, built from scored prompt tokens and generated tokens.</summary>
    sealed class LogprobsBuilder(int top)
    {
        readonly List<string> tokens = [];
        readonly List<double?> logprobs = [];
        readonly List<Dictionary<string, double>?> tops = [];
        readonly List<int> offsets = [];

        public void AddScored(IReadOnlyList<ScoredToken> scored, string text)
        {
            int[] codePoints = CodePointOffsets(text);
            foreach (var t in scored)
            {
                tokens.Add(t.Text);
                logprobs.Add(t.LogProbability);
                tops.Add(t.Top is null ? null : Top(t.Top));
                offsets.Add(codePoints[t.Offset]);
            }
        }

        /// <summary>Adds a generated token at code point <paramref name="offset"/>; returns the offset after it.</summary>
        public int AddGenerated(GeneratedToken token, int offset)
        {
            tokens.Add(token.Text);
            logprobs.Add(token.LogProbability);
            tops.Add(Top(token.Top ?? []));
            offsets.Add(offset);
            return offset + token.Text.EnumerateRunes().Count();
        }

        // Two alternatives can share a text (partial characters): the likelier, listed first, is kept.
        Dictionary<string, double> Top(IReadOnlyList<TokenAlternative> alternatives)
        {
            var result = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var a in alternatives.Take(top)) result.TryAdd(a.Text, a.LogProbability);
            return result;
        }

        public LogprobsResult Build() => new(tokens, logprobs, tops, offsets);
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
