using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using SharpLM.Server;
using SharpLM.Inference.Batching;
using System.Runtime.CompilerServices;
using Xunit.Abstractions;

namespace SharpLM.Tests.Server;

/// <summary>
/// A chat model that writes scripted replies at a set pace, one piece per <c>pace</c>, so a browser can watch a
/// reply grow. Replies are taken in order; the last one repeats its text until max_tokens, so a turn can be made to
/// run for as long as a test needs to stop it. It records each prompt and whether a generation was cancelled.
/// </summary>
internal sealed class ScriptedModel(TimeSpan pace, params string[][] replies) : IServedModel
{
    readonly List<(string Prompt, double Temperature)> calls = [];
    int pieces, running, cancelled;

    public string Id => "scripted";

    public int ContextLength => 100_000;

    /// <summary>Every prompt and temperature the server generated for, in order.</summary>
    public IReadOnlyList<(string Prompt, double Temperature)> Calls { get { lock (calls) return [.. calls]; } }

    /// <summary>Pieces produced so far over all generations.</summary>
    public int Pieces => Volatile.Read(ref pieces);

    /// <summary>Generations in progress.</summary>
    public int Running => Volatile.Read(ref running);

    /// <summary>Generations that ended because their cancellation token fired.</summary>
    public int Cancelled => Volatile.Read(ref cancelled);

    public Task<IReadOnlyList<ScoredToken>> ScoreAsync(string text, int top, CancellationToken cancellation) => throw new InvalidInputException("the scripted model only chats");

    public async IAsyncEnumerable<GeneratedPiece> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellation)
    {
        int turn;
        lock (calls)
        {
            turn = calls.Count;
            calls.Add((request.Prompt, request.Temperature));
        }
        string[] script = replies[Math.Min(turn, replies.Length - 1)];
        bool repeat = turn >= replies.Length - 1;
        Interlocked.Increment(ref running);
        try
        {
            var text = new StringBuilder();
            int i = 0;
            string reason = "length";
            for (; i < request.MaxTokens && (repeat || i < script.Length); i++)
            {
                // Waits on the token, so a cancelled request ends here within a moment, not after the pause.
                try
                {
                    await Task.Delay(pace, cancellation);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref cancelled);
                    throw;
                }
                string piece = script[i % script.Length];
                text.Append(piece);
                if (request.Stop.Any(s => text.ToString().Contains(s, StringComparison.Ordinal)))
                {
                    reason = "stop";
                    break;
                }
                Interlocked.Increment(ref pieces);
                yield return new GeneratedPiece(piece, new GeneratedToken(i, piece, null, null), null);
            }
            if (i < request.MaxTokens && reason == "length") reason = "stop"; // the script ended
            yield return new GeneratedPiece("", null, new GenerationEnd(reason, request.Prompt.Length, i));
        }
        finally
        {
            Interlocked.Decrement(ref running);
        }
    }
}

public class WebChatTests(ITestOutputHelper output)
{
    const string Key = "page-test-key";

    /// <summary>A reply with markup that must stay text, and a fenced code block that must become &lt;pre&gt;&lt;code&gt;.</summary>
    static readonly string[] CodeReply =
    [
        "Here ", "is ", "a ", "loop ", "(<b>bold</b> ", "stays ", "text):\n",
        "```csharp\n", "for (int i = 0; i < 3; i++)\n", "    Console.WriteLine(\"<script>alert(1)</script>\");\n", "```\n",
        "It ", "prints ", "three ", "lines.",
    ];

    const string Code = "for (int i = 0; i < 3; i++)\n    Console.WriteLine(\"<script>alert(1)</script>\");";

    static readonly string[] EndlessReply = ["Alfa ", "Bravo ", "Charlie ", "Delta ", "Echo ", "Foxtrot ", "Golf ", "Hotel ", "India ", "Juliett ", "Kilo ", "Lima ", "Mike ", "November ", "Oscar ", "Papa ", "Quebec ", "Romeo ", "Sierra ", "Tango ", "Uniform ", "Victor ", "Whiskey ", "X-ray ", "Yankee ", "Zulu.\n"];

    static async Task WaitUntil(Func<bool> condition, TimeSpan bound, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > bound) throw new Xunit.Sdk.XunitException($"{what}: not within {bound.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    /// <summary>Saves the page as webchat-NAME.png beside the test assembly (a known place to look at it) and prints the path.</summary>
    async Task Screenshot(IPage page, string name)
    {
        string file = Path.Combine(AppContext.BaseDirectory, $"webchat-{name}.png");
        byte[] png = await page.ScreenshotAsync(new() { Path = file });
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        output.WriteLine($"screenshot: {file}");
    }

    static string Root(OpenAiServer server) => server.BaseUrl.GetLeftPart(UriPartial.Authority) + "/";

    [Fact]
    public async Task Page_and_assets_are_served_without_the_key_under_a_strict_policy_while_the_api_and_unknown_paths_are_unchanged()
    {
        await using var server = await OpenAiServer.StartAsync(new AlphabetModel(), new OpenAiServerOptions { Port = 0, ApiKey = Key });
        using var http = new HttpClient { BaseAddress = new Uri(Root(server)) };
        foreach (var (path, mediaType) in new[] { ("/", "text/html"), ("/app.js", "text/javascript"), ("/app.css", "text/css") })
        {
            using var response = await http.GetAsync(path); // no key: the page must load to ask for it
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            string policy = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'self'", policy);
            Assert.Contains("script-src 'self'", policy);
            Assert.Contains("frame-ancestors 'none'", policy);
            Assert.DoesNotContain("unsafe", policy);
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(body.Length > 500, $"{path}: {body.Length} characters");
            // Everything is embedded: no CDN, no web fonts, no absolute URL of any kind.
            Assert.DoesNotMatch(@"https?:|(src|href)\s*=\s*[""']//|@import|url\(", body);
        }
        string html = await http.GetStringAsync("/");
        Assert.Contains("<script src=\"/app.js\" defer></script>", html);
        Assert.Contains("<link rel=\"stylesheet\" href=\"/app.css\">", html);
        Assert.Equal(1, Regex.Count(html, "<script")); // no inline script: the policy would block it anyway
        Assert.DoesNotContain("style=", html);

        using (var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/app.js")))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal((await http.GetByteArrayAsync("/app.js")).Length, head.Content.Headers.ContentLength);
        }

        // The API still needs the key, and the page's routes take no other method or path.
        using (var models = await http.GetAsync("/v1/models")) Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        using (var chat = await http.PostAsync("/v1/chat/completions", new StringContent("""{"messages": [{"role": "user", "content": "hi"}]}""", Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.Unauthorized, chat.StatusCode);
        using (var hidden = await http.GetAsync("/index.html")) Assert.Equal(HttpStatusCode.Unauthorized, hidden.StatusCode); // not a page path: the key comes first

        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Key);
        foreach (var (method, path) in new[] { ("GET", "/index.html"), ("GET", "/favicon.ico"), ("GET", "/app.js/x"), ("POST", "/"), ("DELETE", "/app.css"), ("GET", "/v1") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method == "POST") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.True("application/json" == response.Content.Headers.ContentType?.MediaType, $"{method} {path}: {response.Content.Headers.ContentType}");
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), $"{method} {path}");
        }

        // The Host check covers the page too: another site's name (DNS rebinding) gets nothing.
        using var foreign = new HttpRequestMessage(HttpMethod.Get, "/");
        foreign.Headers.Host = $"attacker.example:{server.Port}";
        using var refused = await http.SendAsync(foreign);
        Assert.Equal(HttpStatusCode.MisdirectedRequest, refused.StatusCode);
    }

    [ChromiumFact]
    public async Task In_chromium_the_page_asks_for_the_key_streams_replies_renders_code_as_text_and_stop_ends_the_generation()
    {
        var model = new ScriptedModel(TimeSpan.FromMilliseconds(60), CodeReply, EndlessReply);
        await using var server = await OpenAiServer.StartAsync(model, new OpenAiServerOptions { Port = 0, ApiKey = Key });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium.Path, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 }, ColorScheme = ColorScheme.Light });
        page.SetDefaultTimeout(30_000);
        var console = new List<string>();
        page.Console += (_, m) => { lock (console) console.Add($"{m.Type}: {m.Text}"); };
        page.PageError += (_, e) => { lock (console) console.Add($"pageerror: {e}"); };
        var posted = new List<string>();
        page.Request += (_, r) => { if (r.Method == "POST") lock (posted) posted.Add(r.PostData ?? ""); };

        // The page loads without the key, finds /v1/models refused and asks; the key is kept for the next visit.
        var loaded = await page.GotoAsync(Root(server));
        Assert.Equal(200, loaded!.Status);
        await page.Locator("#key-dialog").WaitForAsync(new() { State = WaitForSelectorState.Visible });
        await page.FillAsync("#key-input", Key);
        await page.ClickAsync("#key-save");
        await page.WaitForFunctionAsync("() => document.querySelector('#model').value === 'scripted'");
        Assert.Equal(Key, await page.EvaluateAsync<string>("() => localStorage.getItem('sharplm.apiKey')"));
        Assert.Equal(["scripted"], await page.Locator("#model option").AllTextContentsAsync());

        // Sampling controls reach the request.
        await page.EvalOnSelectorAsync("#temperature", "e => { e.value = '0.3'; e.dispatchEvent(new Event('input')); }");
        Assert.Equal("0.30", await page.TextContentAsync("#temperature-value"));

        // A turn the server refuses (max_tokens over serve --max-tokens) shows its error and gives the text back to resend.
        await page.FillAsync("#max-tokens", "5000");
        await page.FillAsync("#prompt", "Show me a loop");
        await page.PressAsync("#prompt", "Enter");
        await page.Locator(".message.error").WaitForAsync();
        Assert.Contains("max_tokens", await page.TextContentAsync(".message.error .content"));
        Assert.Equal("Show me a loop", await page.InputValueAsync("#prompt"));
        Assert.Equal(0, await page.Locator(".message.user").CountAsync());

        // Turn 1: a reply with a code block, sent with Enter.
        await page.FillAsync("#max-tokens", "2000");
        await page.PressAsync("#prompt", "Enter");
        await page.Locator(".message.assistant[data-state=done]").WaitForAsync();
        var first = page.Locator(".message.assistant").Nth(0);
        Assert.Equal(Code, await first.Locator("pre > code.language-csharp").TextContentAsync());
        Assert.Equal("csharp", await first.Locator(".code-head span").TextContentAsync());
        Assert.Contains("(<b>bold</b> stays text):", await first.Locator(".text").First.TextContentAsync());
        Assert.Equal("It prints three lines.", await first.Locator(".text").Last.TextContentAsync());
        Assert.Equal(0, await page.Locator(".message b, .message script").CountAsync()); // model text never became markup

        // Turn 2: a long reply. It must be seen growing, then Stop must end it in the page and on the server.
        await page.FillAsync("#prompt", "Now spell the alphabet, slowly");
        await page.ClickAsync("#send");
        var second = page.Locator(".message.assistant").Nth(1);
        var seen = new List<string>();
        var clock = Stopwatch.StartNew();
        while (seen.Count < 3)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30)) throw new Xunit.Sdk.XunitException($"the reply did not grow: {string.Join(" | ", seen)}");
            string text = (await second.Locator(".content").TextContentAsync() ?? "").Trim();
            Assert.Equal("streaming", await second.GetAttributeAsync("data-state"));
            if (text.Length > 0 && (seen.Count == 0 || text != seen[^1])) seen.Add(text);
            await Task.Delay(40);
        }
        for (int i = 1; i < seen.Count; i++) Assert.StartsWith(seen[i - 1], seen[i]); // each state extends the one before
        Assert.Equal(1, model.Running);
        await page.ClickAsync("#stop");
        await page.Locator(".message.assistant[data-state=stopped]").WaitForAsync();
        await WaitUntil(() => server.PendingRequests == 0 && model.Running == 0, TimeSpan.FromSeconds(10), "the server ended the stopped request");
        Assert.Equal(1, model.Cancelled);
        int piecesAfterStop = model.Pieces;
        string stoppedText = (await second.Locator(".content").TextContentAsync())!;
        await Task.Delay(500);
        Assert.Equal(piecesAfterStop, model.Pieces); // nothing more is generated
        Assert.Equal(stoppedText, await second.Locator(".content").TextContentAsync());
        Assert.StartsWith("Alfa Bravo", stoppedText);
        Assert.True(stoppedText.Length < 1000, "stopped long before max_tokens");
        Assert.StartsWith("Stopped after", await second.Locator(".note").TextContentAsync());
        Assert.True(await page.IsVisibleAsync("#send"));
        Assert.False(await page.IsVisibleAsync("#stop"));

        // The second turn carried the first (multi-turn), with the chosen model and sampling settings.
        var calls = model.Calls;
        Assert.Equal(2, calls.Count);
        Assert.Contains("User: Show me a loop", calls[1].Prompt);
        Assert.Contains("It prints three lines.", calls[1].Prompt);
        Assert.EndsWith("User: Now spell the alphabet, slowly\nAssistant:", calls[1].Prompt);
        Assert.Equal(0.3, calls[1].Temperature, 9);
        string[] bodies;
        lock (posted) bodies = [.. posted];
        Assert.Equal(3, bodies.Length); // the refused turn, then two
        var request = JsonDocument.Parse(bodies[2]).RootElement;
        Assert.Equal("scripted", request.GetProperty("model").GetString());
        Assert.True(request.GetProperty("stream").GetBoolean());
        Assert.Equal(0.3, request.GetProperty("temperature").GetDouble(), 9);
        Assert.Equal(1.0, request.GetProperty("top_p").GetDouble(), 9);
        Assert.Equal(2000, request.GetProperty("max_tokens").GetInt32());
        // The refused turn was taken out of the conversation.
        Assert.Equal(["user", "assistant", "user"], request.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()!));

        // A third turn after the stop still works: the server is free again.
        await page.FillAsync("#prompt", "Thanks!");
        await page.PressAsync("#prompt", "Enter");
        await WaitUntil(() => model.Calls.Count == 3, TimeSpan.FromSeconds(10), "the third turn reached the model");
        Assert.Matches($@"\nAssistant: {Regex.Escape(stoppedText.Trim())} *\nUser: Thanks!\nAssistant:$", model.Calls[2].Prompt); // a stopped reply stays in the conversation
        await page.WaitForFunctionAsync("() => (document.querySelectorAll('.message.assistant')[2]?.textContent ?? '').includes('Delta')");
        await Screenshot(page, "streaming-light"); // mid-reply: the cursor and the Stop button
        await page.ClickAsync("#stop");
        await page.Locator(".message.assistant[data-state=stopped] >> nth=1").WaitForAsync();
        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
        await Screenshot(page, "stopped-dark");

        string[] messages;
        lock (console) messages = [.. console];
        Assert.DoesNotContain(messages, m => m.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase) || m.StartsWith("pageerror", StringComparison.Ordinal));
        output.WriteLine($"streamed states seen before stop: {seen.Count}; pieces generated: {model.Pieces}; console: {string.Join(" | ", messages)}");
    }
}
