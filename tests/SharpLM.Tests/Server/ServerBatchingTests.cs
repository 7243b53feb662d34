using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using SharpLM.Server;
using TorchSharp;
using Xunit.Abstractions;
using Generator = SharpLM.Inference.Generator;

namespace SharpLM.Tests.Server;

/// <summary>
/// The server over the continuous batcher: concurrent requests share forward passes yet each gets what it gets
/// alone; OpenAI's n, logprobs, finish_reason and usage; several models by name; /health and /metrics.
/// </summary>
public class ServerBatchingTests(ITestOutputHelper output)
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(2) };

    static async Task<(HttpStatusCode Status, JsonElement Json)> PostAsync(OpenAiServer server, string path, object body)
    {
        using var response = await Http.PostAsync(server.BaseUrl + path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    static async Task<string> StreamTextAsync(OpenAiServer server, object body)
    {
        using var response = await Http.PostAsync(server.BaseUrl + "/completions", new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).ToArray();
        Assert.Equal("data: [DONE]", lines[^1]);
        return string.Concat(lines[..^1].Select(l => JsonDocument.Parse(l[6..]).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Sixteen_concurrent_greedy_requests_each_get_the_text_they_get_alone()
    {
        using var served = TinyServed.Char(out var tokenizer, out var model);
        await using var server = await OpenAiServer.StartAsync(served, new OpenAiServerOptions { Port = 0 });
        var prompts = Enumerable.Range(0, 16).Select(i => TinyRuns.Corpus[(i * 2)..(i * 2 + 1 + i % 7)]).ToArray();
        var generator = new Generator(model, tokenizer, torch.CPU);
        var alone = prompts.Select((p, i) => generator.Generate(p, new SamplingOptions { MaxNewTokens = 30 + i, Temperature = 0 })).ToArray();
        // Half stream, half do not; all are in flight together.
        async Task<string> Whole(string prompt, int max) =>
            (await PostAsync(server, "/completions", new { prompt, max_tokens = max, temperature = 0 })).Json.GetProperty("choices")[0].GetProperty("text").GetString()!;
        var texts = await Task.WhenAll(prompts.Select((p, i) => i % 2 == 0
            ? StreamTextAsync(server, new { prompt = p, max_tokens = 30 + i, temperature = 0, stream = true })
            : Whole(p, 30 + i)));
        Assert.Equal(alone, texts);
        var m = served.Metrics!;
        output.WriteLine($"{m.Steps} steps, mean batch {(double)m.BatchedRows / m.Steps:0.00}, {m.GeneratedTokens} tokens");
        Assert.True(m.BatchedRows > 2 * m.Steps, $"requests shared passes (mean batch {(double)m.BatchedRows / m.Steps:0.00})");
    }

    [Fact]
    public async Task Lora_adapters_served_by_name_share_the_batch_and_each_answers_as_its_adapter_alone()
    {
        using var dir = new TempDirectory();
        var tokenizer = CharTokenizer.FromText(TinyRuns.Corpus);
        var config = TinyRuns.Model(tokenizer.VocabSize) with { BlockSize = 64 };
        Gpt Base()
        {
            torch.manual_seed(3);
            var gpt = new Gpt(config);
            gpt.eval();
            return gpt;
        }
        string[] names = ["poet", "clerk"];
        for (int a = 0; a < names.Length; a++)
        {
            var lora = LoraTuning.Apply(Base(), new LoraOptions { Rank = 4, Alpha = 8, TargetModules = a == 0 ? ["attn.c_attn", "mlp.c_fc"] : ["q", "v", "attn.c_proj"] });
            torch.manual_seed(10 + a);
            using (torch.no_grad())
                foreach (var (_, p) in lora.TrainableParameters) p.normal_(0, 0.3);
            lora.Save(dir.File(names[a]));
        }
        var shared = Base();
        var set = LoraSet.Attach(shared, names.Select(dir.File).ToList());
        using var served = new GptServedModel(shared, tokenizer, torch.CPU, "base", adapters: set);
        await using var server = await OpenAiServer.StartAsync([served, served.ForAdapter(0, names[0], null), served.ForAdapter(1, names[1], null)], new OpenAiServerOptions { Port = 0 });

        // The reference: each adapter applied alone to its own copy of the base, decoded by the plain generator.
        var lone = new Dictionary<string, Generator> { ["base"] = new(Base(), tokenizer, torch.CPU) };
        foreach (string name in names)
        {
            var gpt = Base();
            PeftMethod.Load(dir.File(name), gpt);
            lone[name] = new Generator(gpt, tokenizer, torch.CPU);
        }
        string[] models = ["base", .. names];
        var requests = Enumerable.Range(0, 12).Select(i => (Model: models[i % 3], Prompt: TinyRuns.Corpus[(i * 3)..(i * 3 + 2 + i % 5)])).ToArray();
        var expected = requests.Select(r => lone[r.Model].Generate(r.Prompt, new SamplingOptions { MaxNewTokens = 24, Temperature = 0 })).ToArray();
        var texts = await Task.WhenAll(requests.Select(r => StreamTextAsync(server, new { model = r.Model, prompt = r.Prompt, max_tokens = 24, temperature = 0, stream = true })));
        Assert.Equal(expected, texts);
        // The adapters do change the text, so the routing is what made each answer right.
        Assert.Contains(requests.Select((r, i) => (r, i)), x => x.r.Model != "base" && lone["base"].Generate(x.r.Prompt, new SamplingOptions { MaxNewTokens = 24, Temperature = 0 }) != expected[x.i]);
        var m = served.Metrics!;
        Assert.True(m.BatchedRows > 2 * m.Steps, $"the three models' requests shared passes (mean batch {(double)m.BatchedRows / m.Steps:0.00})");

        // Scoring (echo with logprobs) goes through the adapter too.
        var (status, scored) = await PostAsync(server, "/completions", new { model = names[1], prompt = "the king", max_tokens = 0, echo = true, logprobs = 1 });
        Assert.Equal(HttpStatusCode.OK, status);
        var (_, scoredBase) = await PostAsync(server, "/completions", new { model = "base", prompt = "the king", max_tokens = 0, echo = true, logprobs = 1 });
        Assert.NotEqual(scoredBase.GetProperty("choices")[0].GetProperty("logprobs").GetRawText(), scored.GetProperty("choices")[0].GetProperty("logprobs").GetRawText());
    }

    [Fact]
    public async Task Finish_reason_and_usage_say_exactly_why_and_how_much()
    {
        using var served = TinyServed.Char(out var tokenizer, out var model);
        await using var server = await OpenAiServer.StartAsync(served, new OpenAiServerOptions { Port = 0 });
        string free = new Generator(model, tokenizer, torch.CPU).Generate("the ", new SamplingOptions { MaxNewTokens = 20, Temperature = 0 });
        var (_, cut) = await PostAsync(server, "/completions", new { prompt = "the ", max_tokens = 20, temperature = 0 });
        Assert.Equal("length", cut.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(4, cut.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(20, cut.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(24, cut.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        string stop = free.Substring(5, 2);
        var (_, stopped) = await PostAsync(server, "/completions", new { prompt = "the ", max_tokens = 20, temperature = 0, stop });
        Assert.Equal("stop", stopped.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], stopped.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_chat_reply_cut_by_max_tokens_finishes_with_length()
    {
        // Byte-level, so the transcript's "User:" encodes; untrained, so the reply runs on.
        using var served = TinyServed.Gpt2(out _);
        await using var server = await OpenAiServer.StartAsync(served, new OpenAiServerOptions { Port = 0 });
        var (status, chat) = await PostAsync(server, "/chat/completions", new { messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 3, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("length", chat.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(3, chat.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task N_seeded_choices_are_reproducible_distinct_and_each_equals_its_own_seed_alone()
    {
        using var served = TinyServed.Char(out _, out _);
        await using var server = await OpenAiServer.StartAsync(served, new OpenAiServerOptions { Port = 0 });
        var (status, json) = await PostAsync(server, "/completions", new { prompt = "the ", max_tokens = 24, temperature = 1.0, top_p = 0.95, n = 4, seed = 100 });
        Assert.Equal(HttpStatusCode.OK, status);
        string[] texts = json.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("text").GetString()!).ToArray();
        Assert.Equal([0, 1, 2, 3], json.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("index").GetInt32()));
        Assert.True(texts.Distinct().Count() > 1, "choices sample differently");
        for (int j = 0; j < 4; j++)
        {
            // Choice j samples with seed + j: the same text as a lone request with that seed.
            var (_, one) = await PostAsync(server, "/completions", new { prompt = "the ", max_tokens = 24, temperature = 1.0, top_p = 0.95, seed = 100 + j });
            Assert.Equal(texts[j], one.GetProperty("choices")[0].GetProperty("text").GetString());
        }
        Assert.Equal(4 * 24, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(4, json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32()); // the prompt counts once
    }

    [Fact]
    public async Task Chat_logprobs_give_each_token_with_up_to_twenty_alternatives_best_first()
    {
        using var served = TinyServed.Gpt2(out _);
        await using var server = await OpenAiServer.StartAsync(served, new OpenAiServerOptions { Port = 0 });
        var (status, json) = await PostAsync(server, "/chat/completions", new
        {
            messages = new[] { new { role = "user", content = "the" } }, max_tokens = 5, temperature = 0, logprobs = true, top_logprobs = 20,
        });
        Assert.Equal(HttpStatusCode.OK, status);
        var choice = json.GetProperty("choices")[0];
        var content = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToArray();
        string reply = choice.GetProperty("message").GetProperty("content").GetString()!;
        Assert.Equal(reply, string.Concat(content.Select(c => c.GetProperty("token").GetString())));
        foreach (var token in content)
        {
            var top = token.GetProperty("top_logprobs").EnumerateArray().Select(t => t.GetProperty("logprob").GetDouble()).ToArray();
            Assert.Equal(20, top.Length);
            Assert.Equal(top.OrderByDescending(x => x), top);
            // Greedy: the chosen token is the best one.
            Assert.Equal(top[0], token.GetProperty("logprob").GetDouble(), 6);
            Assert.Equal(Encoding.UTF8.GetBytes(token.GetProperty("token").GetString()!).Select(b => (int)b), token.GetProperty("bytes").EnumerateArray().Select(b => b.GetInt32()));
        }
    }

    [Fact]
    public async Task A_request_picks_its_model_by_name_and_an_unknown_name_gets_404()
    {
        using var first = TinyServed.Char(out _, out _);
        IServedModel second = new AlphabetModel();
        await using var server = await OpenAiServer.StartAsync([first, second], new OpenAiServerOptions { Port = 0 });
        using var list = await Http.GetAsync(server.BaseUrl + "/models");
        var ids = JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString());
        Assert.Equal(["tiny-char", "alphabet"], ids);
        var (_, alphabet) = await PostAsync(server, "/completions", new { model = "alphabet", prompt = "c", max_tokens = 3, temperature = 0 });
        Assert.Equal("def", alphabet.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("alphabet", alphabet.GetProperty("model").GetString());
        var (_, byDefault) = await PostAsync(server, "/completions", new { prompt = "the ", max_tokens = 3, temperature = 0 });
        Assert.Equal("tiny-char", byDefault.GetProperty("model").GetString());
        var (status, missing) = await PostAsync(server, "/chat/completions", new { model = "gpt-9", messages = new[] { new { role = "user", content = "hi" } } });
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("model_not_found", missing.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("model", missing.GetProperty("error").GetProperty("param").GetString());
        await Assert.ThrowsAsync<InvalidInputException>(() => OpenAiServer.StartAsync([second, new AlphabetModel()], new OpenAiServerOptions { Port = 0 }));
    }

    [Fact]
    public async Task Health_is_open_and_metrics_report_requests_tokens_and_latency_in_prometheus_text()
    {
        using var served = TinyServed.Char(out _, out _);
        await using var server = await OpenAiServer.StartAsync(served, new OpenAiServerOptions { Port = 0, ApiKey = "k" });
        string root = server.BaseUrl.ToString()[..^"/v1".Length];
        using (var health = await Http.GetAsync(root + "/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode); // no key needed: probes hold none, and it reveals nothing
            Assert.Equal("ok", JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        }
        using (var refused = await Http.GetAsync(root + "/metrics")) Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        for (int i = 0; i < 3; i++)
        {
            var post = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/completions")
            {
                Content = new StringContent("""{"prompt": "the ", "max_tokens": 7, "temperature": 0}""", Encoding.UTF8, "application/json"),
            };
            post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "k");
            using var answer = await Http.SendAsync(post);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
        const string answered = "sharplm_http_requests_total{route=\"/v1/completions\",status=\"200\"}";
        string text = "";
        Dictionary<string, double> samples = [];
        // A request is counted once its handler returns, which may be just after its client has read the answer.
        for (int attempt = 0; attempt < 100 && samples.GetValueOrDefault(answered) < 3; attempt++)
        {
            if (attempt > 0) await Task.Delay(50);
            var get = new HttpRequestMessage(HttpMethod.Get, root + "/metrics");
            get.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "k");
            using var metrics = await Http.SendAsync(get);
            Assert.Equal("text/plain", metrics.Content.Headers.ContentType?.MediaType);
            text = await metrics.Content.ReadAsStringAsync();
            samples = text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#'))
                .Select(l => (Name: l[..l.LastIndexOf(' ')], Value: double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)))
                .ToDictionary(s => s.Name, s => s.Value);
        }
        output.WriteLine(text);
        Assert.Equal(3, samples[answered]);
        Assert.Equal(21, samples["sharplm_generated_tokens_total{model=\"tiny-char\"}"]);
        Assert.Equal(12, samples["sharplm_prompt_tokens_total{model=\"tiny-char\"}"]);
        Assert.Equal(3, samples["sharplm_time_to_first_token_seconds_count"]);
        Assert.Equal(3, samples["sharplm_http_request_duration_seconds_bucket{route=\"/v1/completions\",le=\"+Inf\"}"]);
        Assert.Equal(3, samples["sharplm_generations_finished_total{model=\"tiny-char\",reason=\"length\"}"]);
        // Every metric has its TYPE line, as the exposition format asks.
        foreach (string name in samples.Keys.Select(k => k.Split('{')[0]))
        {
            string family = name.EndsWith("_bucket") || name.EndsWith("_count") || name.EndsWith("_sum") ? name[..name.LastIndexOf('_')] : name;
            Assert.Contains($"# TYPE {family} ", text);
        }
    }
}
