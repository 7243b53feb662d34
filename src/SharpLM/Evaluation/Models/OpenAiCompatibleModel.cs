using System.Runtime.ExceptionServices;
using Microsoft.Extensions.AI;
using SharpLM.Evaluation.Harness;

namespace SharpLM.Evaluation.Models;

/// <summary>
/// The evaluation harness's model interface over an OpenAI-compatible server, the way lm-evaluation-harness's
/// local-completions model works: log-likelihoods from <c>/completions</c> with <c>echo: true, logprobs: 1</c>
/// (scoring the prompt's own tokens), generation from <c>/completions</c> or, in chat mode, from
/// <c>/chat/completions</c> through <see cref="OpenAiCompatibleChatClient"/>. Requests go out concurrently, up to
/// <see cref="OpenAiCompatibleOptions.MaxConcurrentRequests"/> at a time; results come back in request order.
/// </summary>
public sealed class OpenAiCompatibleModel : IEvaluationModel, IDisposable
{
    /// <summary>OpenAI accepts at most this many stop strings; the rest are applied here.</summary>
    public const int ServerStopLimit = 4;

    const string CompletionsPath = "completions";
    readonly OpenAiTransport transport;
    readonly OpenAiCompatibleChatClient chat;
    // OpenAI's completion models accept max_tokens 0 with echo (score only); some servers insist on at least 1,
    // whose generated token is then ignored. Switched on the first refusal.
    volatile bool scoringNeedsOneToken;

    /// <summary>A model with its own connection, limits and retries, from <paramref name="options"/>.</summary>
    /// <exception cref="InvalidInputException">The options are invalid.</exception>
    public OpenAiCompatibleModel(OpenAiCompatibleOptions options)
    {
        transport = new OpenAiTransport(options);
        chat = new OpenAiCompatibleChatClient(transport, ownsTransport: false);
    }

    /// <summary>The server, model and limits this model uses.</summary>
    public OpenAiCompatibleOptions Options => transport.Options;

    /// <summary>"openai:BASEURL", then " model=NAME" when a model is named and " chat" in chat mode.</summary>
    public string Name => $"openai:{Options.BaseUrl}" + (Options.Model is { } m ? $" model={m}" : "") + (Options.Chat ? " chat" : "");

    /// <summary>The chat endpoint as a general <see cref="IChatClient"/>, sharing this model's connection limits.</summary>
    public IChatClient ChatClient => chat;

    /// <summary>Scores each context + continuation by echoing it through <c>/completions</c> and summing the
    /// continuation's token log-probabilities.</summary>
    /// <exception cref="ModelCapabilityException">Chat mode, or a server that refuses echo with logprobs.</exception>
    public Task<IReadOnlyList<LoglikelihoodResult>> LoglikelihoodAsync(IReadOnlyList<LoglikelihoodRequest> requests, CancellationToken cancellation = default)
    {
        RefuseScoringInChatMode();
        return ForEach(requests, (r, ct) => ScoreAsync(r.Context, r.Continuation, rolling: false, ct), cancellation);
    }

    /// <summary>Each text's log-probability, echoed through <c>/completions</c> (the first token is unscored, having no
    /// context).</summary>
    /// <exception cref="ModelCapabilityException">Chat mode, or a server that refuses echo with logprobs.</exception>
    public async Task<IReadOnlyList<RollingLoglikelihoodResult>> LoglikelihoodRollingAsync(IReadOnlyList<string> texts, CancellationToken cancellation = default)
    {
        RefuseScoringInChatMode();
        var scored = await ForEach(texts, (text, ct) => ScoreAsync("", text, rolling: true, ct), cancellation);
        return scored.Select(s => new RollingLoglikelihoodResult(s.LogProbability, s.Tokens)).ToArray();
    }

    /// <summary>Generates through <c>/completions</c>, or <c>/chat/completions</c> in chat mode; the server gets the first
    /// <see cref="ServerStopLimit"/> stop strings and the text is cut here at the earliest of all of them.</summary>
    public Task<IReadOnlyList<string>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellation = default) =>
        ForEach(requests, async (r, ct) => CutAtStop(Options.Chat ? await ChatAsync(r, ct) : await CompleteAsync(r, ct), r.Stop), cancellation);

    void RefuseScoringInChatMode()
    {
        if (Options.Chat)
            throw new ModelCapabilityException($"{Name}: chat endpoints give no log-probabilities of the prompt; score with the /completions endpoint (chat mode off)");
    }

    async Task<LoglikelihoodResult> ScoreAsync(string context, string continuation, bool rolling, CancellationToken cancellation)
    {
        string prompt = context + continuation;
        CompletionResponse response;
        if (scoringNeedsOneToken) response = await Echo(prompt, 1, cancellation);
        else
        {
            try
            {
                response = await Echo(prompt, 0, cancellation);
            }
            catch (OpenAiCompatibleException e) when (e.StatusCode is 400 or 422)
            {
                response = await EchoWithOneToken(prompt, cancellation);
                scoringNeedsOneToken = true;
            }
        }
        Uri url = transport.Url(CompletionsPath);
        return EchoedPrompt.Score(SingleChoice(response, url).Logprobs, EchoedPrompt.CodePoints(context), EchoedPrompt.CodePoints(prompt), rolling, url);
    }

    Task<CompletionResponse> Echo(string prompt, int maxTokens, CancellationToken cancellation) =>
        transport.PostAsync<CompletionResponse>(CompletionsPath,
            new CompletionRequest(Options.Model, prompt, maxTokens, Temperature: 0, Logprobs: 1, Echo: true), cancellation);

    async Task<CompletionResponse> EchoWithOneToken(string prompt, CancellationToken cancellation)
    {
        try
        {
            return await Echo(prompt, 1, cancellation);
        }
        catch (OpenAiCompatibleException e) when (e.StatusCode is 400 or 422 &&
            (e.ResponseBody?.Contains("echo", StringComparison.OrdinalIgnoreCase) == true || e.ResponseBody?.Contains("logprobs", StringComparison.OrdinalIgnoreCase) == true))
        {
            throw new ModelCapabilityException($"{transport.Url(CompletionsPath)}: the server refuses echo with logprobs, so it cannot score text: {OpenAiTransport.Summary(e.ResponseBody!)}");
        }
    }

    async Task<string> CompleteAsync(GenerationRequest r, CancellationToken cancellation)
    {
        var request = new CompletionRequest(Options.Model, r.Context, r.MaxTokens, r.Temperature, ServerStops(r.Stop), unchecked((long)r.Seed));
        var response = await transport.PostAsync<CompletionResponse>(CompletionsPath, request, cancellation);
        Uri url = transport.Url(CompletionsPath);
        return SingleChoice(response, url).Text ?? throw OpenAiTransport.Malformed(url, "choices[0].text is missing");
    }

    async Task<string> ChatAsync(GenerationRequest r, CancellationToken cancellation)
    {
        var options = new ChatOptions
        {
            MaxOutputTokens = r.MaxTokens, Temperature = (float)r.Temperature, StopSequences = ServerStops(r.Stop)?.ToList(), Seed = unchecked((long)r.Seed),
        };
        var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.User, r.Context)], options, cancellation);
        return response.Text;
    }

    static string[]? ServerStops(IReadOnlyList<string> stop) => stop.Count == 0 ? null : stop.Take(ServerStopLimit).ToArray();

    /// <summary>Cuts before the earliest stop string: the ones past the server's limit, and any a server echoed back.</summary>
    static string CutAtStop(string text, IReadOnlyList<string> stop)
    {
        int cut = text.Length;
        foreach (string s in stop)
        {
            if (s.Length == 0) continue;
            int i = text.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && i < cut) cut = i;
        }
        return text[..cut];
    }

    static CompletionChoice SingleChoice(CompletionResponse response, Uri url)
    {
        if (response.Choices is null)
            throw response.Error is { } error
                ? OpenAiTransport.Malformed(url, $"error instead of choices: {OpenAiTransport.ErrorSummary(error)}")
                : OpenAiTransport.Malformed(url, "no 'choices' array");
        if (response.Choices.Count != 1) throw OpenAiTransport.Malformed(url, $"expected 1 choice, got {response.Choices.Count}");
        return response.Choices[0];
    }

    /// <summary>
    /// Runs <paramref name="run"/> for every item concurrently (the transport limits how many are in flight) and
    /// returns results in item order. The first failure cancels the rest and is the one reported.
    /// </summary>
    static async Task<IReadOnlyList<TOut>> ForEach<TIn, TOut>(IReadOnlyList<TIn> items, Func<TIn, CancellationToken, Task<TOut>> run, CancellationToken cancellation)
    {
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        Exception? first = null;
        var tasks = items.Select(async item =>
        {
            try
            {
                return await run(item, failFast.Token);
            }
            catch (Exception e)
            {
                if (!failFast.IsCancellationRequested)
                {
                    Interlocked.CompareExchange(ref first, e, null);
                    failFast.Cancel();
                }
                throw;
            }
        }).ToArray();
        try
        {
            return await Task.WhenAll(tasks);
        }
        catch when (first is not null)
        {
            ExceptionDispatchInfo.Throw(first);
            throw; // unreachable: Throw never returns
        }
    }

    /// <summary>Releases the HTTP connection.</summary>
    public void Dispose()
    {
        chat.Dispose();
        transport.Dispose();
    }
}
