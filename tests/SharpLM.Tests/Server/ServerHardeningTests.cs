using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using SharpLM.Modeling;
using SharpLM.Server;
using SharpLM.Tokenization;
using SharpLM.Training;
using TorchSharp;
using Xunit.Abstractions;
using SharpLM.Checkpoints;
using SharpLM.Inference.Batching;
using System.Runtime.CompilerServices;

namespace SharpLM.Tests.Server;

/// <summary>
/// A checkpoint model that the server believes has an endless context, so max_tokens 10^8 passes every check; its
/// RoPE model has a context of millions of positions, so only cancellation ends the generation. It counts the pieces
/// it has produced, so a test can see whether generation really stopped.
/// </summary>
internal sealed class EndlessServed(IServedModel inner) : IServedModel
{
    int pieces;

    public int Pieces => Volatile.Read(ref pieces);

    public string Id => inner.Id;

    public int ContextLength => int.MaxValue;

    public int Concurrency => inner.Concurrency;

    public Task<IReadOnlyList<ScoredToken>> ScoreAsync(string text, int top, CancellationToken cancellation) => inner.ScoreAsync(text, top, cancellation);

    public async IAsyncEnumerable<GeneratedPiece> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellation)
    {
        await foreach (var piece in inner.GenerateAsync(request, cancellation))
        {
            Interlocked.Increment(ref pieces);
            yield return piece;
        }
    }
}

/// <summary>A model that fails the way a bug would, with a message naming a file on the server.</summary>
internal sealed class FailingModel : IServedModel
{
    public const string Secret = "/home/someone/models/weights.bin";

    public string Id => "failing";

    public int ContextLength => 1000;

    public Task<IReadOnlyList<ScoredToken>> ScoreAsync(string text, int top, CancellationToken cancellation) => throw new IOException($"cannot read {Secret}");

    public IAsyncEnumerable<GeneratedPiece> GenerateAsync(GenerationRequest request, CancellationToken cancellation) =>
        throw new NullReferenceException($"cannot read {Secret}");
}

/// <summary>
/// HTTP/1.1 over a plain socket, for what HttpClient will not do: keep sending a body after the server has
/// answered, or send headers and framing as a hostile client would. Reads one response (chunked or not).
/// </summary>
internal static class RawHttp
{
    /// <summary>Sends <paramref name="head"/> then <paramref name="body"/> (in the background: the server may answer and close first).</summary>
    public static async Task<(int Status, string Body)> SendAsync(int port, string head, IEnumerable<byte[]> body, CancellationToken cancellation)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cancellation);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), cancellation);
        var sending = Task.Run(async () =>
        {
            try
            {
                foreach (byte[] part in body) await stream.WriteAsync(part, cancellation);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException) { } // the server stopped reading
        }, cancellation);
        var response = await ReadResponseAsync(stream, cancellation);
        client.Close();
        await sending;
        return response;
    }

    static async Task<(int Status, string Body)> ReadResponseAsync(Stream stream, CancellationToken cancellation)
    {
        var data = new List<byte>();
        var buffer = new byte[8192];
        int headEnd;
        while ((headEnd = IndexOf(data, "\r\n\r\n"u8)) < 0)
        {
            int n = await stream.ReadAsync(buffer, cancellation);
            if (n == 0) throw new IOException("connection closed before a response");
            data.AddRange(buffer.AsSpan(0, n));
        }
        string head = Encoding.ASCII.GetString(data.GetRange(0, headEnd).ToArray());
        var rest = data.Skip(headEnd + 4).ToList();
        int status = int.Parse(head.Split(' ')[1]);
        var headers = head.Split("\r\n").Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        async Task Fill(int count)
        {
            while (rest.Count < count)
            {
                int n = await stream.ReadAsync(buffer, cancellation);
                if (n == 0) throw new IOException("connection closed inside the response body");
                rest.AddRange(buffer.AsSpan(0, n));
            }
        }
        if (headers.TryGetValue("content-length", out string? length))
        {
            await Fill(int.Parse(length));
            return (status, Encoding.UTF8.GetString(rest.GetRange(0, int.Parse(length)).ToArray()));
        }
        if (headers.GetValueOrDefault("transfer-encoding") != "chunked") return (status, "");
        var body = new List<byte>();
        while (true)
        {
            int line;
            while ((line = IndexOf(rest, "\r\n"u8)) < 0) await Fill(rest.Count + 1);
            int size = Convert.ToInt32(Encoding.ASCII.GetString(rest.GetRange(0, line).ToArray()).Split(';')[0], 16);
            await Fill(line + 2 + size + 2);
            body.AddRange(rest.GetRange(line + 2, size));
            rest.RemoveRange(0, line + 2 + size + 2);
            if (size == 0) return (status, Encoding.UTF8.GetString(body.ToArray()));
        }
    }

    static int IndexOf(List<byte> data, ReadOnlySpan<byte> pattern)
    {
        for (int i = 0; i + pattern.Length <= data.Count; i++)
        {
            int k = 0;
            while (k < pattern.Length && data[i + k] == pattern[k]) k++;
            if (k == pattern.Length) return i;
        }
        return -1;
    }
}

/// <summary>
/// Hostile and malformed requests: each gets its 4xx JSON quickly, and none can hold the model, the queue or the
/// process. Every wait is bounded (<see cref="HangGuard"/>) so a regression fails rather than hangs; times are
/// printed, not asserted, so the tests are not flaky on a loaded machine.
/// </summary>
public class ServerHardeningTests(ITestOutputHelper output)
{
    static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(10);
    static readonly HttpClient Http = new() { Timeout = Timeout.InfiniteTimeSpan };

    static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>The task's result, or a failure naming <paramref name="what"/> if it is not done within <paramref name="bound"/>.</summary>
    static async Task<T> Within<T>(Task<T> task, TimeSpan bound, string what)
    {
        if (await Task.WhenAny(task, Task.Delay(bound)) != task) throw new Xunit.Sdk.XunitException($"{what}: no answer within {bound.TotalSeconds} s");
        return await task;
    }

    static async Task WaitUntil(Func<bool> condition, TimeSpan bound, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > bound) throw new Xunit.Sdk.XunitException($"{what}: not within {bound.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    /// <summary>Sends, answers within the hang guard, prints the time; returns status and the error JSON (if any).</summary>
    async Task<(HttpStatusCode Status, JsonElement Json)> SendAsync(HttpRequestMessage request, string label)
    {
        var clock = Stopwatch.StartNew();
        using var response = await Within(Http.SendAsync(request), HangGuard, label);
        string text = await Within(response.Content.ReadAsStringAsync(), HangGuard, label);
        output.WriteLine($"{label}: {(int)response.StatusCode} in {clock.Elapsed.TotalMilliseconds:0} ms");
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    static HttpRequestMessage Post(OpenAiServer server, string path, HttpContent content) =>
        new(HttpMethod.Post, server.BaseUrl + path) { Content = content };

    static void AssertError(HttpStatusCode expected, (HttpStatusCode Status, JsonElement Json) answer)
    {
        Assert.Equal(expected, answer.Status);
        var error = answer.Json.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("type").GetString()));
    }

    static readonly OpenAiServerOptions Small = new()
    {
        Port = 0, MaxCompletionTokens = 500, MaxPrompts = 4, MaxMessages = 8, MaxPromptCharacters = 10_000, MaxRequestBodyBytes = 1024 * 1024,
    };

    public static TheoryData<string, string, string, int> HostileBodies => new()
    {
        { "max_tokens 1e8 beyond the context", "completions", """{"prompt": "abc", "max_tokens": 100000000}""", 400 },
        { "max_tokens beyond the server cap", "completions", """{"prompt": "abc", "max_tokens": 501}""", 400 },
        { "prompt + max_tokens beyond the context", "completions", $$"""{"prompt": "{{new string('a', 900)}}", "max_tokens": 200}""", 400 },
        { "chat prompt + max_tokens beyond the context", "chat/completions", $$"""{"messages": [{"role": "user", "content": "{{new string('a', 900)}}"}], "max_tokens": 200}""", 400 },
        { "too many prompts", "completions", """{"prompt": ["a", "b", "c", "d", "e"], "max_tokens": 1}""", 400 },
        { "too many messages", "chat/completions", "{\"messages\": [" + string.Join(",", Enumerable.Repeat("""{"role": "user", "content": "hi"}""", 9)) + "]}", 400 },
        { "too many prompt characters", "completions", $$"""{"prompt": ["{{new string('a', 6000)}}", "{{new string('a', 6000)}}"], "max_tokens": 0}""", 400 },
        { "stop string over 1000 characters", "completions", $$"""{"prompt": "abc", "stop": ["{{new string('x', 1001)}}"]}""", 400 },
        { "too many stop strings", "completions", """{"prompt": "abc", "stop": ["a", "b", "c", "d", "e"]}""", 400 },
        { "escaped lone surrogate", "completions", """{"prompt": "a\ud800b", "max_tokens": 1}""", 400 },
        { "max_tokens beyond int", "completions", """{"prompt": "a", "max_tokens": 1e30}""", 400 },
        { "deep nesting", "completions", """{"prompt": """ + new string('[', 5000) + new string(']', 5000) + "}", 400 },
        { "not an object", "completions", "[1, 2, 3]", 400 },
        { "null body", "chat/completions", "null", 400 },
    };

    [Theory]
    [MemberData(nameof(HostileBodies))]
    public async Task Hostile_bodies_get_their_4xx_json_quickly(string label, string path, string body, int status)
    {
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), Small);
        AssertError((HttpStatusCode)status, await SendAsync(Post(server, "/" + path, Json(body)), label));
        // And the server is still fine.
        var (ok, _) = await SendAsync(Post(server, "/completions", Json("""{"prompt": "abc", "max_tokens": 3}""")), "valid after " + label);
        Assert.Equal(HttpStatusCode.OK, ok);
    }

    [Theory]
    [InlineData("completions", """{"prompt": "a", "max_tokens": 2}""")]
    [InlineData("completions", """{"prompt": "a", "max_tokens": 2, "stream": true}""")]
    [InlineData("completions", """{"prompt": "a", "max_tokens": 0, "echo": true, "logprobs": 0}""")]
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": "a"}], "stream": true}""")]
    public async Task A_server_fault_is_a_generic_500_that_names_no_exception_or_path(string path, string body)
    {
        await using var server = await OpenAiServer.StartAsync(new FailingModel(), Small);
        var answer = await SendAsync(Post(server, "/" + path, Json(body)), "model failure on " + path);
        AssertError(HttpStatusCode.InternalServerError, answer);
        string text = answer.Json.GetRawText();
        Assert.DoesNotContain(FailingModel.Secret, text);
        Assert.DoesNotContain("Exception", text);
        Assert.Equal("server_error", answer.Json.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Invalid_utf8_is_a_400_not_a_500()
    {
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), Small);
        byte[] body = [.. "{\"prompt\": \"a"u8, 0xC3, 0x28, 0xFF, .. "\", \"max_tokens\": 2}"u8];
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var answer = await SendAsync(Post(server, "/completions", content), "invalid UTF-8");
        AssertError(HttpStatusCode.BadRequest, answer);
        Assert.Contains("UTF-8", answer.Json.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413_whether_it_declares_its_length_or_is_chunked()
    {
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), Small);
        // The client keeps sending after the answer (HttpClient gives up with a broken pipe then), so a raw socket.
        byte[] part = Encoding.ASCII.GetBytes(new string('a', 64 * 1024));
        const int total = 20 * 1024 * 1024;
        async Task Expect413(string label, string head, IEnumerable<byte[]> body)
        {
            using var bound = new CancellationTokenSource(HangGuard);
            var clock = Stopwatch.StartNew();
            var (status, text) = await Within(RawHttp.SendAsync(server.Port, head, body, bound.Token), HangGuard, label);
            output.WriteLine($"{label}: {status} in {clock.Elapsed.TotalMilliseconds:0} ms");
            AssertError(HttpStatusCode.RequestEntityTooLarge, ((HttpStatusCode)status, JsonDocument.Parse(text).RootElement));
        }
        // 20 MB declared up front: refused from the headers, before the body.
        await Expect413("20 MB body with Content-Length",
            $"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1:{server.Port}\r\nContent-Type: application/json\r\nContent-Length: {total}\r\n\r\n",
            Enumerable.Repeat(part, total / part.Length));
        // A chunked body has no length: refused once the limit is crossed while reading.
        byte[] chunk = [.. Encoding.ASCII.GetBytes($"{part.Length:x}\r\n"), .. part, .. "\r\n"u8];
        await Expect413("20 MB chunked body",
            $"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1:{server.Port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            Enumerable.Repeat(chunk, total / part.Length)); // never parsed, so it need not be JSON
    }

    [Fact]
    public async Task Post_without_json_content_type_gets_415()
    {
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), Small);
        // text/plain and forms are what any web page can POST cross-origin without a preflight.
        AssertError(HttpStatusCode.UnsupportedMediaType, await SendAsync(Post(server, "/completions", new StringContent("""{"prompt": "a"}""", Encoding.UTF8, "text/plain")), "text/plain"));
        AssertError(HttpStatusCode.UnsupportedMediaType, await SendAsync(Post(server, "/completions", new FormUrlEncodedContent([new("prompt", "a")])), "form"));
        var none = new ByteArrayContent("""{"prompt": "a"}"""u8.ToArray());
        AssertError(HttpStatusCode.UnsupportedMediaType, await SendAsync(Post(server, "/completions", none), "no content type"));
    }

    [Fact]
    public async Task Host_header_must_name_this_machine_at_this_port_or_an_allowed_name()
    {
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), Small with { AllowedHosts = ["sharplm.internal"] });
        async Task<HttpStatusCode> With(string host)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, server.BaseUrl + "/models");
            request.Headers.Host = host;
            var (status, json) = await SendAsync(request, "Host " + host);
            if (status != HttpStatusCode.OK) AssertError(status, (status, json));
            return status;
        }
        foreach (string ok in new[] { "localhost", "127.0.0.1", "[::1]", "LOCALHOST", "sharplm.internal" })
            Assert.Equal(HttpStatusCode.OK, await With($"{ok}:{server.Port}"));
        // A page at evil.example whose DNS now points at 127.0.0.1 sends its own name.
        Assert.Equal(HttpStatusCode.MisdirectedRequest, await With($"evil.example:{server.Port}"));
        Assert.Equal(HttpStatusCode.MisdirectedRequest, await With($"localhost:{(server.Port == 1 ? 2 : server.Port - 1)}"));
        Assert.Equal(HttpStatusCode.MisdirectedRequest, await With("localhost"));
    }

    [Fact]
    public async Task Api_key_when_configured_is_required_on_every_route()
    {
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), Small with { ApiKey = "s3cret-key" });
        HttpRequestMessage Models(string? authorization)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, server.BaseUrl + "/models");
            if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
            return request;
        }
        AssertError(HttpStatusCode.Unauthorized, await SendAsync(Models(null), "no key"));
        AssertError(HttpStatusCode.Unauthorized, await SendAsync(Models("Bearer wrong"), "wrong key"));
        AssertError(HttpStatusCode.Unauthorized, await SendAsync(Models("Basic s3cret-key"), "wrong scheme"));
        var post = Post(server, "/completions", Json("""{"prompt": "a", "max_tokens": 1}"""));
        AssertError(HttpStatusCode.Unauthorized, await SendAsync(post, "POST without key"));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(Models("Bearer s3cret-key"), "right key")).Status);
    }

    static Task<OpenAiServer> Endless(OpenAiServerOptions options, out EndlessServed model, int maxBatch = 16)
    {
        model = new EndlessServed(TinyServed.Endless(maxBatch));
        return OpenAiServer.StartAsync(model, options with { Port = 0, MaxCompletionTokens = int.MaxValue });
    }

    const string Forever = """{"prompt": "the ", "max_tokens": 100000000, "temperature": 0}""";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_disconnected_clients_endless_generation_stops_and_the_next_request_is_answered(bool stream)
    {
        await using var server = await Endless(new OpenAiServerOptions(), out var model);
        using (var leave = new CancellationTokenSource())
        {
            string body = stream ? Forever.Replace("}", ", \"stream\": true}") : Forever;
            var request = Post(server, "/completions", Json(body));
            // No draining of the unread response on dispose (2 s by default): the client really leaves at once.
            using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0, ResponseDrainTimeout = TimeSpan.Zero });
            var hostile = client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leave.Token);
            await WaitUntil(() => model.Pieces > 20, TimeSpan.FromSeconds(30), "generation under way");
            leave.Cancel(); // the client goes away mid-generation
            try { (await hostile).Dispose(); } catch (OperationCanceledException) { }
        }
        var clock = Stopwatch.StartNew();
        var (status, _) = await SendAsync(Post(server, "/completions", Json("""{"prompt": "the ", "max_tokens": 5}""")), "valid request after the disconnect");
        Assert.Equal(HttpStatusCode.OK, status);
        output.WriteLine($"answered {clock.Elapsed.TotalMilliseconds:0} ms after the client left (stream: {stream})");
        int settled = model.Pieces;
        await Task.Delay(300);
        Assert.Equal(settled, model.Pieces); // nothing is generating any more
    }

    [Fact]
    public async Task A_generation_over_its_time_budget_is_stopped_with_504()
    {
        await using var server = await Endless(new OpenAiServerOptions { RequestTimeout = TimeSpan.FromSeconds(1) }, out var model);
        AssertError(HttpStatusCode.GatewayTimeout, await SendAsync(Post(server, "/completions", Json(Forever)), "max_tokens 1e8 with a 1 s budget"));
        int settled = model.Pieces;
        await Task.Delay(300);
        Assert.Equal(settled, model.Pieces);
    }

    [Fact]
    public async Task Requests_beyond_the_queue_get_429_and_queued_ones_run_when_the_model_frees()
    {
        // A batch of one: the second request waits for the first's slot.
        await using var server = await Endless(new OpenAiServerOptions { MaxQueuedRequests = 1 }, out var model, maxBatch: 1);
        using var leave = new CancellationTokenSource();
        var running = Http.SendAsync(Post(server, "/completions", Json(Forever)), leave.Token);
        await WaitUntil(() => model.Pieces > 0, TimeSpan.FromSeconds(30), "first generation under way");
        var queued = Http.SendAsync(Post(server, "/completions", Json("""{"prompt": "the ", "max_tokens": 3}""")));
        await WaitUntil(() => server.PendingRequests == 2, TimeSpan.FromSeconds(30), "second request queued");
        AssertError(HttpStatusCode.TooManyRequests, await SendAsync(Post(server, "/completions", Json("""{"prompt": "the ", "max_tokens": 3}""")), "third request, queue of 1 full"));
        leave.Cancel();
        try { (await running).Dispose(); } catch (OperationCanceledException) { }
        using var answer = await Within(queued, HangGuard, "queued request");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
    }

    [Fact]
    public async Task Stopping_the_server_cancels_an_in_flight_generation()
    {
        var server = await Endless(new OpenAiServerOptions(), out var model);
        var hostile = Http.SendAsync(Post(server, "/completions", Json(Forever)));
        await WaitUntil(() => model.Pieces > 0, TimeSpan.FromSeconds(30), "generation under way");
        var clock = Stopwatch.StartNew();
        await Within(server.DisposeAsync().AsTask().ContinueWith(_ => true), HangGuard, "server stop");
        output.WriteLine($"stopped in {clock.Elapsed.TotalMilliseconds:0} ms with a generation in flight");
        try { (await Within(hostile, HangGuard, "in-flight request")).Dispose(); } catch (HttpRequestException) { }
        int settled = model.Pieces;
        await Task.Delay(300);
        Assert.Equal(settled, model.Pieces);
    }

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);

    [Fact]
    public async Task Serve_command_exits_promptly_on_sigterm()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // SIGTERM is POSIX
        using var dir = new TempDirectory();
        // A long context, so that one request can keep a generation of thousands of tokens in flight.
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        torch.manual_seed(3);
        var gpt = new Gpt(TinyRuns.Model(tokenizer.VocabSize) with { BlockSize = 4096 });
        Checkpoint.Save(dir.Path, gpt, null, new CheckpointManifest { Step = 0, Model = gpt.Config, ModelFile = "", ModelSha256 = "" });
        tokenizer.Save(dir.Path);

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "SharpLM.Cli.dll"), "serve", "--checkpoint", dir.Path, "--port", "0", "--threads", "1", "--max-tokens", "5000" })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        try
        {
            string url = await Within(process.StandardOutput.ReadLineAsync(), TimeSpan.FromMinutes(1), "serve URL line")
                ?? throw new Xunit.Sdk.XunitException("serve exited without printing its URL: " + await process.StandardError.ReadToEndAsync());
            url = url[url.IndexOf("http", StringComparison.Ordinal)..];
            // A streamed generation of 4,000 tokens is under way once its first piece arrives; it must not hold the exit up.
            using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            var request = new HttpRequestMessage(HttpMethod.Post, url + "/completions") { Content = Json("""{"prompt": "the ", "max_tokens": 4000, "stream": true}""") };
            using var response = await Within(client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead), TimeSpan.FromSeconds(30), "stream start");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await Within(reader.ReadLineAsync(), TimeSpan.FromSeconds(30), "first piece"));
            var clock = Stopwatch.StartNew();
            Assert.Equal(0, kill(process.Id, 15));
            bool exited = await Within(process.WaitForExitAsync().ContinueWith(_ => true), TimeSpan.FromSeconds(5), "exit after SIGTERM");
            output.WriteLine($"serve exited {clock.Elapsed.TotalMilliseconds:0} ms after SIGTERM, a 4,000-token generation in flight, exit code {process.ExitCode}");
            Assert.True(exited);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }
}
