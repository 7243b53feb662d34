using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SharpLM.Server;
using Xunit.Abstractions;

namespace SharpLM.Tests.Server;

/// <summary>
/// Seeded fuzzing of the HTTP API: malformed bodies and odd headers must each get a JSON answer with a 2xx or
/// 4xx status, never a 500, a dropped connection or a hang. A failure prints the seed and case number, so it
/// can be replayed.
/// </summary>
public class ServerFuzzTests(ITestOutputHelper output)
{
    const int Seed = 20261206, Cases = 1200;
    static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(10);

    static readonly string[] Templates =
    [
        """{"prompt": "abc", "max_tokens": 5, "temperature": 0, "stop": ["x", "yz"], "seed": 3}""",
        """{"prompt": ["ab", "c"], "max_tokens": 0, "echo": true, "logprobs": 1}""",
        """{"prompt": "abc", "max_tokens": 4, "stream": true}""",
        """{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}], "max_tokens": 5}""",
        """{"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 3, "stream": true, "stop": "q"}""",
    ];

    static readonly string[] Fields = ["prompt", "max_tokens", "temperature", "stop", "seed", "logprobs", "echo", "stream", "n", "top_p", "messages", "max_completion_tokens"];

    static readonly string[] OddValues =
    [
        "null", "true", "false", "0", "-1", "1.5", "1e308", "-1e308", "99999999999999999999999", "-0", "2147483648", "-9223372036854775809",
        "\"\"", "\"ten\"", "\"\\ud800\"", "\"\\u0000\"", "[]", "[[]]", "[1, \"a\", null]", "{}", "{\"role\": 1}", "[{\"role\": \"user\"}]",
        "[{\"role\": \"user\", \"content\": null}]", "[{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": 5}]}]",
        "\"" + new string('z', 2000) + "\"", "[" + string.Join(",", Enumerable.Repeat("\"s\"", 50)) + "]",
    ];

    static readonly string[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/json; charset=latin1", "APPLICATION/JSON",
        "application/problem+json", "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "", "json",
    ];

    static readonly OpenAiServerOptions FuzzLimits = new() { Port = 0, MaxRequestBodyBytes = 64 * 1024, MaxCompletionTokens = 200 };

    [Fact]
    public async Task Malformed_requests_never_crash_drop_or_hang_the_server()
    {
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), FuzzLimits);
        await FuzzAsync(server);
    }

    /// <summary>
    /// The same fuzzing against a real batched checkpoint while 16 streamed greedy generations run the whole time (each
    /// restarted when it ends): the hostile requests share the batch with them, and every stream still ends with
    /// [DONE] and exactly the text its prompt gets alone.
    /// </summary>
    [Fact]
    public async Task Fuzzing_a_batched_model_beside_sixteen_streams_leaves_every_stream_intact()
    {
        using var served = TinyServed.Char(out var tokenizer, out var model);
        await using var server = await OpenAiServer.StartAsync(served, FuzzLimits);
        var prompts = Enumerable.Range(0, 16).Select(i => TinyRuns.Corpus[(i * 2)..(i * 2 + 3 + i % 5)]).ToArray();
        var expected = prompts.Select(p => new SharpLM.Inference.Generator(model, tokenizer, TorchSharp.torch.CPU)
            .Generate(p, new SharpLM.Inference.SamplingOptions { MaxNewTokens = 40, Temperature = 0 })).ToArray();
        using var done = new CancellationTokenSource();
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        int streamsCompleted = 0;
        var streams = prompts.Select((prompt, i) => Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                string body = JsonSerializer.Serialize(new { prompt, max_tokens = 40, temperature = 0, stream = true });
                using var response = await http.PostAsync(server.BaseUrl + "/completions", new StringContent(body, Encoding.UTF8, "application/json"));
                string text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"stream {i}: {(int)response.StatusCode} {text}");
                var lines = text.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).ToArray();
                Assert.Equal("data: [DONE]", lines[^1]);
                string generated = string.Concat(lines[..^1].Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()));
                Assert.Equal(expected[i], generated);
                Interlocked.Increment(ref streamsCompleted);
            }
        })).ToArray();
        try
        {
            await FuzzAsync(server);
        }
        finally
        {
            done.Cancel();
        }
        await Task.WhenAll(streams);
        output.WriteLine($"{streamsCompleted} streams of 40 tokens completed beside the fuzzing, each with its lone text; mean batch {(double)served.Metrics!.BatchedRows / served.Metrics.Steps:0.0}");
        Assert.True(streamsCompleted >= 16);
    }

    async Task FuzzAsync(OpenAiServer server)
    {
        var random = new Random(Seed);
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var statuses = new SortedDictionary<int, int>();
        var slowest = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        string previous = "";
        for (int i = 0; i < Cases; i++)
        {
            string label = $"seed {Seed}, case {i}";
            using var request = Case(random, server, out string kind);
            label += $" ({kind}; {request.Method} {request.RequestUri!.AbsolutePath}, {request.Content?.Headers.ContentLength} bytes; after {previous})";
            previous = $"{kind}, {request.Method} {request.Content?.Headers.ContentLength} bytes";
            var one = Stopwatch.StartNew();
            var exchange = Exchange(http, request, label);
            if (await Task.WhenAny(exchange, Task.Delay(HangGuard)) != exchange) throw new Xunit.Sdk.XunitException($"{label}: no answer within {HangGuard.TotalSeconds} s");
            int status = await exchange;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            if (one.Elapsed > slowest) slowest = one.Elapsed;
        }
        output.WriteLine($"{Cases} cases in {clock.Elapsed.TotalSeconds:0.0} s, slowest {slowest.TotalMilliseconds:0} ms; statuses: {string.Join(", ", statuses.Select(s => $"{s.Key} x{s.Value}"))}");
        Assert.True(statuses.Keys.Any(s => s == 200) && statuses.Keys.Any(s => s == 400), "the cases reach both the model and the checks");
    }

    /// <summary>Sends; checks the answer is 2xx/4xx with JSON (or a JSON event stream); returns the status.</summary>
    static async Task<int> Exchange(HttpClient http, HttpRequestMessage request, string label)
    {
        HttpResponseMessage response;
        string text;
        try
        {
            response = await http.SendAsync(request);
            text = await response.Content.ReadAsStringAsync();
        }
        catch (HttpRequestException e)
        {
            throw new Xunit.Sdk.XunitException($"{label}: connection failed: {e.Message}");
        }
        using (response)
        {
            int status = (int)response.StatusCode;
            Assert.True(status is >= 200 and < 300 or >= 400 and < 500, $"{label}: status {status}: {text}");
            try
            {
                if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
                {
                    foreach (string line in text.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)))
                        if (line != "data: [DONE]") JsonDocument.Parse(line["data: ".Length..]).Dispose();
                }
                else
                {
                    using var json = JsonDocument.Parse(text);
                    if (status >= 400) Assert.Equal(JsonValueKind.String, json.RootElement.GetProperty("error").GetProperty("message").ValueKind);
                }
            }
            catch (JsonException)
            {
                throw new Xunit.Sdk.XunitException($"{label}: status {status} without a JSON body: {text}");
            }
            return status;
        }
    }

    static HttpRequestMessage Case(Random random, OpenAiServer server, out string kind)
    {
        string template = Templates[random.Next(Templates.Length)];
        string path = template.Contains("messages") ? "/chat/completions" : "/completions";
        if (random.Next(20) == 0) path = random.Next(2) == 0 ? "/completions" : "/chat/completions"; // body for the other endpoint
        byte[] body;
        int choice = random.Next(8);
        switch (choice)
        {
            case 0:
                kind = "random bytes";
                body = new byte[random.Next(0, 2000)];
                random.NextBytes(body);
                break;
            case 1:
                kind = "truncated JSON";
                body = Encoding.UTF8.GetBytes(template[..random.Next(template.Length)]);
                break;
            case 2:
            {
                kind = "wrong type";
                string field = Fields[random.Next(Fields.Length)];
                string value = OddValues[random.Next(OddValues.Length)];
                body = Encoding.UTF8.GetBytes(template.TrimEnd('}') + $", \"{field}\": {value}}}");
                break;
            }
            case 3:
            {
                kind = "huge number";
                string field = Fields[random.Next(Fields.Length)];
                string number = random.Next(4) switch
                {
                    0 => new string('9', random.Next(10, 400)),
                    1 => "-" + new string('9', random.Next(10, 400)),
                    2 => $"1e{random.Next(10, 400)}",
                    _ => random.Next(2) == 0 ? "100000000" : "2147483647",
                };
                // Duplicate keys: the later one wins in System.Text.Json, so this replaces the template's value.
                body = Encoding.UTF8.GetBytes(template.TrimEnd('}') + $", \"{field}\": {number}}}");
                break;
            }
            case 4:
            {
                kind = "bad UTF-8";
                var bytes = Encoding.UTF8.GetBytes(template).ToList();
                int at = template.IndexOf("\"a", StringComparison.Ordinal) is int q and >= 0 ? q + 1 : random.Next(bytes.Count);
                for (int k = random.Next(1, 4); k > 0; k--) bytes.Insert(at, (byte)random.Next(0x80, 0x100));
                body = [.. bytes];
                break;
            }
            case 5:
            {
                kind = "byte flips";
                body = Encoding.UTF8.GetBytes(template);
                for (int k = random.Next(1, 6); k > 0; k--) body[random.Next(body.Length)] = (byte)random.Next(0, 256);
                break;
            }
            case 6:
                kind = "deep or long";
                body = random.Next(3) switch
                {
                    0 => Encoding.UTF8.GetBytes("{\"prompt\": " + new string('[', random.Next(10, 3000)) + "\"a\"" + new string(']', random.Next(0, 3000)) + "}"),
                    1 => Encoding.UTF8.GetBytes($$"""{"prompt": "{{new string('a', random.Next(60_000, 70_000))}}"}"""), // around the 64 KiB limit
                    _ => Encoding.UTF8.GetBytes($$"""{"prompt": "{{string.Concat(Enumerable.Range(0, random.Next(1, 3000)).Select(_ => (char)random.Next(0x20, 0xD7FF)))}}", "max_tokens": {{random.Next(0, 300)}}}"""),
                };
                break;
            default:
                kind = "valid";
                body = Encoding.UTF8.GetBytes(template);
                break;
        }

        var method = random.Next(25) == 0 ? new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch }[random.Next(4)] : HttpMethod.Post;
        var request = new HttpRequestMessage(method, server.BaseUrl + path);
        if (method != HttpMethod.Get) request.Content = new ByteArrayContent(body);
        // Odd headers on a third of the cases; otherwise what a client sends.
        if (random.Next(3) == 0)
        {
            kind += " + odd headers";
            string type = ContentTypes[random.Next(ContentTypes.Length)];
            if (request.Content is not null && type.Length > 0) request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            switch (random.Next(6))
            {
                case 0: request.Headers.Host = new[] { "evil.example", "localhost", "127.0.0.1:1", "[::1]", "localhost:" + server.Port }[random.Next(5)]; break;
                case 1: request.Headers.TryAddWithoutValidation("Authorization", new[] { "Bearer", "Bearer x", "Basic Zm9vOmJhcg==", new string('A', 4000) }[random.Next(4)]); break;
                case 2: request.Headers.TryAddWithoutValidation("X-Junk-" + random.Next(100), new string('j', random.Next(0, 4000))); break;
                case 3: request.Content?.Headers.TryAddWithoutValidation("Content-Encoding", "gzip"); break;
                case 4: request.Headers.TryAddWithoutValidation("Accept", "text/event-stream, */*;q=0.1"); break;
                default: request.Headers.TransferEncodingChunked = request.Content is not null; break;
            }
        }
        else request.Content?.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        return request;
    }
}
