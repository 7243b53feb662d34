using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SharpLM.Modeling;
using SharpLM.Server;
using SharpLM.Tokenization;
using SharpLM.Training;
using TorchSharp;
using SharpLM.Checkpoints;
using SharpLM.Inference.Batching;
using System.Runtime.CompilerServices;

namespace SharpLM.Tests.Server;

/// <summary>
/// A deterministic character-level model: one token per Unicode character; after a letter its successor in the
/// alphabet has probability 0.6 (after anything else, 'a' does), every other character 0.01. Greedy generation
/// therefore walks the alphabet. It records the last generation call so tests can see what reached the model.
/// </summary>
internal sealed class AlphabetModel : IServedModel
{
    public static readonly double Likely = Math.Log(0.6), Unlikely = Math.Log(0.01);

    public string Id => "alphabet";

    public int ContextLength => 1000;

    public GenerationRequest? LastGenerate { get; private set; }

    public static string Next(string previous) =>
        previous.Length == 1 && char.IsAsciiLetterLower(previous[0]) ? ((char)('a' + (previous[0] - 'a' + 1) % 26)).ToString() : "a";

    public static double LogProbability(string previous, string token) => token == Next(previous) ? Likely : Unlikely;

    public Task<IReadOnlyList<ScoredToken>> ScoreAsync(string text, int top, CancellationToken cancellation)
    {
        var tokens = new List<ScoredToken>();
        string? previous = null;
        int offset = 0;
        foreach (Rune r in text.EnumerateRunes())
        {
            string token = r.ToString();
            tokens.Add(previous is null
                ? new ScoredToken(token, offset, null, null)
                : new ScoredToken(token, offset, LogProbability(previous, token), [new TokenAlternative(Next(previous), Likely)]));
            previous = token;
            offset += token.Length;
        }
        return Task.FromResult<IReadOnlyList<ScoredToken>>(tokens);
    }

    public async IAsyncEnumerable<GeneratedPiece> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellation)
    {
        await Task.CompletedTask;
        LastGenerate = request;
        string previous = request.Prompt.Length == 0 ? "" : request.Prompt.EnumerateRunes().Last().ToString();
        var text = new StringBuilder();
        for (int i = 0; i < request.MaxTokens; i++) text.Append(previous = Next(previous));
        string all = text.ToString();
        int cut = request.Stop.Select(s => all.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(all.Length).Min();
        int promptTokens = request.Prompt.EnumerateRunes().Count();
        for (int i = 0; i < cut; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            string token = all[i].ToString();
            var logprob = request.TopLogprobs is int k ? Likely : (double?)null;
            IReadOnlyList<TokenAlternative>? top = request.TopLogprobs is int n ? [.. new[] { new TokenAlternative(token, Likely) }.Take(n)] : null;
            yield return new GeneratedPiece(token, new GeneratedToken(token[0], token, logprob, top), null);
        }
        yield return new GeneratedPiece("", null, new GenerationEnd(cut < all.Length ? "stop" : "length", promptTokens, cut));
    }
}

/// <summary>Tiny untrained SharpLM models served in-process.</summary>
internal static class TinyServed
{
    public static GptServedModel Char(out CharTokenizer tokenizer, out Gpt model)
    {
        tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        torch.manual_seed(3);
        model = new Gpt(TinyRuns.Model(tokenizer.VocabSize) with { BlockSize = 64 });
        return new GptServedModel(model, tokenizer, torch.CPU, "tiny-char");
    }

    /// <summary>A RoPE model with a context of 2^22 positions (no position table to allocate): generations end only when cancelled.</summary>
    public static GptServedModel Endless(int maxBatch = 16)
    {
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        torch.manual_seed(3);
        var model = new Gpt(TinyRuns.Model(tokenizer.VocabSize) with { BlockSize = 1 << 22, PositionEncoding = "rope" });
        return new GptServedModel(model, tokenizer, torch.CPU, "tiny-char", serving: new ServingOptions { MaxBatch = maxBatch });
    }

    public static GptServedModel Gpt2(out Gpt model)
    {
        torch.manual_seed(4);
        model = new Gpt(TinyRuns.Model(Gpt2Tokenizer.Instance.VocabSize) with { NEmbd = 16, NLayer = 1, BlockSize = 64 });
        return new GptServedModel(model, Gpt2Tokenizer.Instance, torch.CPU, "tiny-gpt2");
    }
}

public class ServerTests
{
    static readonly HttpClient Http = new();

    static async Task<(HttpStatusCode Status, JsonElement Json)> PostAsync(OpenAiServer server, string path, string body)
    {
        using var response = await Http.PostAsync(new Uri(server.BaseUrl + path), new StringContent(body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>The data payloads of an event stream, checking that it ends with [DONE].</summary>
    static async Task<List<JsonElement>> StreamAsync(OpenAiServer server, string path, string body)
    {
        using var response = await Http.PostAsync(new Uri(server.BaseUrl + path), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var data = (await response.Content.ReadAsStringAsync()).Split('\n')
            .Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l["data: ".Length..]).ToList();
        Assert.Equal("[DONE]", data[^1]);
        return data.SkipLast(1).Select(d => JsonDocument.Parse(d).RootElement.Clone()).ToList();
    }

    [Fact]
    public async Task Binds_to_loopback_by_default_and_reports_the_port_it_picked()
    {
        Assert.Equal("127.0.0.1", new OpenAiServerOptions().Host);
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), new OpenAiServerOptions { Port = 0 });
        Assert.Equal("127.0.0.1", server.BaseUrl.Host);
        Assert.True(server.Port > 0);
        Assert.EndsWith("/v1", server.BaseUrl.AbsolutePath);

        var models = await Http.GetFromJsonAsync<JsonElement>(server.BaseUrl + "/models");
        var data = Assert.Single(models.GetProperty("data").EnumerateArray());
        Assert.Equal("alphabet", data.GetProperty("id").GetString());
        Assert.Equal(1000, data.GetProperty("context_length").GetInt32());
    }

    [Fact]
    public async Task Host_that_is_not_an_address_and_a_taken_port_are_input_errors()
    {
        await Assert.ThrowsAsync<InvalidInputException>(() => OpenAiServer.StartAsync(new AlphabetModel(), new OpenAiServerOptions { Host = "example.com", Port = 0 }));
        await using var first = await OpenAiServer.StartAsync(new AlphabetModel(), new OpenAiServerOptions { Port = 0 });
        var e = await Assert.ThrowsAsync<InvalidInputException>(() => OpenAiServer.StartAsync(new AlphabetModel(), new OpenAiServerOptions { Port = first.Port }));
        Assert.Contains($"--port {first.Port}", e.Message);
    }

    [Theory]
    [InlineData("completions", "this is not json", null)]
    [InlineData("completions", "{}", "prompt")]
    [InlineData("completions", """{"prompt": [1, 2, 3]}""", "prompt")]
    [InlineData("completions", """{"prompt": "a", "max_tokens": -1}""", "max_tokens")]
    [InlineData("completions", """{"prompt": "a", "max_tokens": "ten"}""", "max_tokens")]
    [InlineData("completions", """{"prompt": "a", "temperature": 5}""", "temperature")]
    [InlineData("completions", """{"prompt": "a", "stop": ["a", "b", "c", "d", "e"]}""", "stop")]
    [InlineData("completions", """{"prompt": "a", "stop": [""]}""", "stop")]
    [InlineData("completions", """{"prompt": "a", "logprobs": 21}""", "logprobs")]
    [InlineData("completions", """{"prompt": "a", "n": 17}""", "n")]
    [InlineData("completions", """{"prompt": "a", "n": 0}""", "n")]
    [InlineData("completions", """{"prompt": "a", "top_p": 0}""", "top_p")]
    [InlineData("completions", """{"prompt": "a", "stream": true, "echo": true}""", "echo")]
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 21}""", "top_logprobs")]
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "top_logprobs": 2}""", "top_logprobs")]
    [InlineData("chat/completions", """{"messages": []}""", "messages")]
    [InlineData("chat/completions", """{"messages": [{"role": "robot", "content": "hi"}]}""", "messages")]
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}""", "messages")]
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"name": "add"}}]}""", "tools")] // a base model: no template to describe tools in
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "retrieval"}]}""", "tools")]
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "tools": {"type": "function"}}""", "tools")]
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"name": "a b"}}]}""", "tools")]
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": 3}}]}""", "tools")]
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"}""", "tool_choice")]
    [InlineData("chat/completions", """{"messages": [{"role": "tool", "content": "2"}]}""", "messages")]
    [InlineData("chat/completions", """{"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "add", "arguments": "{not json"}}]}]}""", "messages")]
    [InlineData("chat/completions", """{"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "add", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "c", "content": "2"}]}""", "messages")]
    public async Task Bad_requests_get_400_with_an_openai_error(string path, string body, string? param)
    {
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), new OpenAiServerOptions { Port = 0 });
        var (status, json) = await PostAsync(server, "/" + path, body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = json.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        if (param is not null) Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Unknown_routes_get_404_with_an_openai_error()
    {
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), new OpenAiServerOptions { Port = 0 });
        var (status, json) = await PostAsync(server, "/embeddings", "{}");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("/v1/embeddings", json.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Echo_with_max_tokens_zero_scores_the_prompt_with_code_point_offsets()
    {
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), new OpenAiServerOptions { Port = 0 });
        var (status, json) = await PostAsync(server, "/completions", """{"prompt": "a👋bc", "max_tokens": 0, "echo": true, "logprobs": 1}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var choice = Assert.Single(json.GetProperty("choices").EnumerateArray());
        Assert.Equal("a👋bc", choice.GetProperty("text").GetString());
        var lp = choice.GetProperty("logprobs");
        Assert.Equal(["a", "👋", "b", "c"], lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!));
        // The emoji is two UTF-16 units but one code point, as in Python (and so OpenAI's text_offset).
        Assert.Equal([0, 1, 2, 3], lp.GetProperty("text_offset").EnumerateArray().Select(t => t.GetInt32()));
        var values = lp.GetProperty("token_logprobs").EnumerateArray().ToArray();
        Assert.Equal(JsonValueKind.Null, values[0].ValueKind);
        Assert.Equal(AlphabetModel.Unlikely, values[1].GetDouble(), 12);
        Assert.Equal(AlphabetModel.Likely, values[3].GetDouble(), 12); // c after b
        var tops = lp.GetProperty("top_logprobs").EnumerateArray().ToArray();
        Assert.Equal(JsonValueKind.Null, tops[0].ValueKind);
        Assert.Equal(AlphabetModel.Likely, tops[2].GetProperty("a").GetDouble(), 12); // after the emoji, 'a' is likeliest
    }

    [Fact]
    public async Task Completions_generate_per_prompt_and_score_only_generated_tokens_without_echo()
    {
        var model = new AlphabetModel();
        await using var server = await OpenAiServer.StartAsync(model, new OpenAiServerOptions { Port = 0 });
        var (status, json) = await PostAsync(server, "/completions",
            """{"prompt": ["abc", "x"], "max_tokens": 4, "temperature": 0, "stop": "f", "seed": -1, "logprobs": 0}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var choices = json.GetProperty("choices").EnumerateArray().ToArray();
        Assert.Equal(["de", "yzab"], choices.Select(c => c.GetProperty("text").GetString()!));
        Assert.Equal([0, 1], choices.Select(c => c.GetProperty("index").GetInt32()));
        var lp = choices[0].GetProperty("logprobs");
        Assert.Equal(["d", "e"], lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal([3, 4], lp.GetProperty("text_offset").EnumerateArray().Select(t => t.GetInt32()));
        Assert.Empty(lp.GetProperty("top_logprobs")[0].EnumerateObject()); // logprobs 0: no alternatives
        Assert.Equal(ulong.MaxValue, model.LastGenerate!.Seed); // the int64 seed -1 is the unsigned seed's bits
    }

    [Fact]
    public async Task Streaming_completions_and_chat_return_the_same_text_as_non_streaming()
    {
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), new OpenAiServerOptions { Port = 0 });
        const string completion = """{"prompt": "abc", "max_tokens": 6, "stop": ["h"], "temperature": 0}""";
        var (_, whole) = await PostAsync(server, "/completions", completion);
        var chunks = await StreamAsync(server, "/completions", completion.Replace("}", ", \"stream\": true}"));
        Assert.Equal("defg", whole.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("defg", string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString())));
        Assert.True(chunks.Count > 2, "streamed in pieces");
        Assert.Equal("stop", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        const string chat = """{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}], "max_tokens": 3}""";
        var (_, reply) = await PostAsync(server, "/chat/completions", chat);
        var message = reply.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal("abc", message.GetProperty("content").GetString()); // the transcript ends in "Assistant:", after which 'a' is likeliest
        var deltas = await StreamAsync(server, "/chat/completions", chat.Replace("\"max_tokens\"", "\"stream\": true, \"max_tokens\""));
        Assert.Equal("assistant", deltas[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("abc", string.Concat(deltas.Select(d => d.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) ? c.GetString() : "")));
        Assert.Equal("chat.completion.chunk", deltas[0].GetProperty("object").GetString());
    }

    [Fact]
    public void Chat_messages_become_a_plain_transcript()
    {
        Assert.Equal("System: be brief\nUser: hi\nAssistant:", ChatCompletionsEndpoint.Prompt([("system", "be brief"), ("user", "hi")]));
    }

    [Fact]
    public async Task Checkpoint_model_scores_equal_a_direct_forward_pass_and_streams_like_it_generates()
    {
        var served = TinyServed.Char(out var tokenizer, out var model);
        string text = "the lazy dog jumps";
        var scored = await served.ScoreAsync(text, 1, default);
        Assert.Equal(text, string.Concat(scored.Select(t => t.Text)));
        Assert.Null(scored[0].LogProbability); // the char tokenizer has no end-of-text token to put in front
        // Independent check: the summed log-probabilities are minus Perplexity's negative log-likelihood.
        var ppl = SharpLM.Evaluation.Perplexity.Evaluate(model, tokenizer, text, torch.CPU);
        Assert.Equal(-ppl.NllSum, scored.Sum(t => t.LogProbability ?? 0), 3);
        Assert.All(scored.Skip(1), t => Assert.True(t.LogProbability <= t.Top![0].LogProbability + 1e-6));

        await using var server = await OpenAiServer.StartAsync(served, new OpenAiServerOptions { Port = 0 });
        const string body = """{"prompt": "the ", "max_tokens": 12, "temperature": 0}""";
        var (_, whole) = await PostAsync(server, "/completions", body);
        var chunks = await StreamAsync(server, "/completions", body.Replace("}", ", \"stream\": true}"));
        string direct = new SharpLM.Inference.Generator(model, tokenizer, torch.CPU).Generate("the ", new SharpLM.Inference.SamplingOptions { MaxNewTokens = 12, Temperature = 0 });
        Assert.Equal(direct, whole.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal(direct, string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString())));
    }

    [Fact]
    public async Task Checkpoint_model_refuses_text_it_cannot_encode_with_400_even_when_streaming()
    {
        await using var server = await OpenAiServer.StartAsync(TinyServed.Char(out _, out _), new OpenAiServerOptions { Port = 0 });
        var (status, json) = await PostAsync(server, "/completions", """{"prompt": "the €", "max_tokens": 3, "stream": true}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("vocabulary", json.GetProperty("error").GetProperty("message").GetString());

    }

    [Fact]
    public async Task Text_longer_than_the_window_is_scored_in_windows_as_perplexity_scores_it()
    {
        var served = TinyServed.Char(out var tokenizer, out var model);
        string text = string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 5)); // 225 characters, window 64
        var scored = await served.ScoreAsync(text, 1, default);
        Assert.Equal(text, string.Concat(scored.Select(t => t.Text)));
        var ppl = SharpLM.Evaluation.Perplexity.Evaluate(model, tokenizer, text, torch.CPU);
        Assert.Equal(-ppl.NllSum, scored.Sum(t => t.LogProbability ?? 0), 3);
    }

    [Fact]
    public async Task Byte_level_tokens_are_offset_by_whole_characters()
    {
        var served = TinyServed.Gpt2(out var model);
        string text = "naïve café — 你好 👋!";
        var scored = await served.ScoreAsync(text, 1, default);
        Assert.Equal(("", 0, (double?)null), (scored[0].Text, scored[0].Offset, scored[0].LogProbability)); // end-of-text in front
        Assert.Equal(text, string.Concat(scored.Select(t => t.Text)));
        Assert.All(scored.Skip(1), t => Assert.NotNull(t.LogProbability)); // every token of the text is predicted
        for (int i = 1; i < scored.Count; i++) Assert.Equal(scored[i - 1].Offset + scored[i - 1].Text.Length, scored[i].Offset);
        var ppl = SharpLM.Evaluation.Perplexity.Evaluate(model, Gpt2Tokenizer.Instance, text, torch.CPU);
        Assert.Equal(-ppl.NllSum, scored.Sum(t => t.LogProbability ?? 0), 2);
    }

    [Fact]
    public async Task Serve_command_prints_only_the_url_and_answers_on_it()
    {
        using var dir = new TempDirectory();
        TinyServed.Char(out var tokenizer, out var model);
        Checkpoint.Save(dir.Path, model, null, new CheckpointManifest { Step = 0, Model = model.Config, ModelFile = "", ModelSha256 = "" });
        tokenizer.Save(dir.Path);

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "SharpLM.Cli.dll"), "serve", "--checkpoint", dir.Path, "--port", "0", "--threads", "1" })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        try
        {
            var line = process.StandardOutput.ReadLineAsync();
            Assert.True(await Task.WhenAny(line, Task.Delay(TimeSpan.FromMinutes(1))) == line, "no URL line within a minute");
            string url = await line ?? throw new Xunit.Sdk.XunitException("serve exited without printing its URL");
            Assert.Matches($@"^serving {Path.GetFileName(dir.Path)} at http://127\.0\.0\.1:\d+/v1$", url);
            var models = await Http.GetFromJsonAsync<JsonElement>(url[(url.IndexOf("http", StringComparison.Ordinal))..] + "/models");
            Assert.Equal(Path.GetFileName(dir.Path), models.GetProperty("data")[0].GetProperty("id").GetString());
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }
}
