using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SharpLM.Adaptation;
using SharpLM.Data;
using SharpLM.IO;
using SharpLM.Runtime;
using SharpLM.Server;

/// <summary>
/// `dotnet run -c Release --project bench/SharpLM.Bench -- serve [--checkpoint RUN] [--clients 16] [--seconds 60]
/// [--max-tokens 128] [--threads 2] [--soak 3] [--out out/bench/serve]`: the OpenAI server under load, on loopback, in this
/// process. One streaming client, then <c>--clients</c> concurrent streaming clients, each sending requests back to
/// back for <c>--seconds</c>: prompts are slices of tinyshakespeare's validation text, sampled at temperature 0.8
/// with a seed per request. Reports aggregate generated tokens/s, time to first token (p50, p99), failed requests,
/// the batcher's mean batch and step time, and resident memory before, between and after --soak more concurrent
/// phases of half the time each. Without --checkpoint it uses (training it once)
/// the decoding benchmark's target: the shakespeare-char preset with a 256-token context. Not a test: nothing is
/// asserted.
/// </summary>
static class ServeBenchmark
{
    public static int Run(string[] args)
    {
        var opts = Args.Parse(args);
        int clients = int.Parse(opts.Get("clients", "16"), CultureInfo.InvariantCulture);
        double seconds = double.Parse(opts.Get("seconds", "60"), CultureInfo.InvariantCulture);
        int maxTokens = int.Parse(opts.Get("max-tokens", "128"), CultureInfo.InvariantCulture);
        int threads = int.Parse(opts.Get("threads", "2"), CultureInfo.InvariantCulture);
        int soak = int.Parse(opts.Get("soak", "3"), CultureInfo.InvariantCulture);
        string outDir = opts.Get("out", "out/bench/serve");
        string corpus = Corpora.TinyShakespeare(Console.Error.WriteLine);
        string run = opts.Get("checkpoint", "");
        if (run == "")
        {
            string decoding = Path.Combine("out", "bench", "decoding");
            string data = Path.Combine(decoding, "data");
            if (!DataPreparer.IsPrepared(data)) DataPreparer.Prepare(corpus, "char", data);
            DecodingBenchmark.Train("target", decoding, data, 1500, m => m);
            run = Path.Combine(decoding, "target");
        }
        TorchRuntime.SetThreads(threads);
        var bundle = ModelBundle.Load(run);
        using var served = new GptServedModel(bundle.Model, bundle.Tokenizer, bundle.Device, "bench", serving: new ServingOptions { MaxBatch = clients });
        var server = OpenAiServer.StartAsync(served, new OpenAiServerOptions { Port = 0, MaxQueuedRequests = clients }).GetAwaiter().GetResult();
        try
        {
            string text = File.ReadAllText(corpus);
            string val = text[(int)(text.Length * 0.9)..];
            var bench = new Load(server.BaseUrl, val, maxTokens, bundle.Model.ContextLength);
            Console.Error.WriteLine($"serving {Path.GetFullPath(run)} ({bundle.Model.ParameterCount:N0} parameters, context {bundle.Model.ContextLength}) at {server.BaseUrl}, {threads} libtorch threads");
            bench.RunAsync(1, 5).GetAwaiter().GetResult(); // warm-up: JIT, allocator, the KV cache's first growth
            if (opts.Has("engine"))
            {
                // The batcher alone, without HTTP: how much of the serving cost is the model's.
                foreach (int n in new[] { 1, clients })
                {
                    var clock = Stopwatch.StartNew();
                    long generated = 0;
                    Task.WhenAll(Enumerable.Range(0, n).Select(i => Task.Run(async () =>
                    {
                        var random = new Random(i);
                        while (clock.Elapsed.TotalSeconds < seconds / 4)
                        {
                            int start = random.Next(val.Length - 64);
                            await foreach (var piece in served.GenerateAsync(new GenerationRequest(val.Substring(start, 64), maxTokens, 0.8, 1.0, (ulong)random.Next(), []), default))
                                if (piece.Token is not null) Interlocked.Increment(ref generated);
                        }
                    }))).GetAwaiter().GetResult();
                    Console.WriteLine($"engine only, {n} concurrent: {generated / clock.Elapsed.TotalSeconds:N0} tokens/s");
                }
            }
            double rssStart = Rss();
            var metrics = served.Metrics!;
            // The batcher's own time per step (forward pass, sampling, handing tokens over), apart from the HTTP work around it.
            (long Steps, TimeSpan Time, long Rows) Mark() => (metrics.Steps, metrics.StepTime, metrics.BatchedRows);
            var mark0 = Mark();
            var single = bench.RunAsync(1, seconds).GetAwaiter().GetResult();
            var mark1 = Mark();
            double rssSingle = Rss();
            var mark2 = Mark();
            var many = bench.RunAsync(clients, seconds).GetAwaiter().GetResult();
            var mark3 = Mark();
            double StepMs((long Steps, TimeSpan Time, long Rows) a, (long Steps, TimeSpan Time, long Rows) b) => (b.Time - a.Time).TotalMilliseconds / Math.Max(1, b.Steps - a.Steps);
            double stepSingle = StepMs(mark0, mark1), stepMany = StepMs(mark2, mark3);
            double busyMany = (mark3.Time - mark2.Time).TotalSeconds / many.Seconds;
            double meanBatch = (double)(mark3.Rows - mark2.Rows) / Math.Max(1, mark3.Steps - mark2.Steps);
            double rssMany = Rss();
            // More concurrent phases, resident memory after each: it should level off (the KV cache grows to the
            // context once; after that nothing a request leaves behind may accumulate).
            var soaked = new List<(PhaseResult Phase, double Rss)>();
            for (int i = 0; i < soak; i++) soaked.Add((bench.RunAsync(clients, seconds / 2).GetAwaiter().GetResult(), Rss()));

            Console.WriteLine($"{bundle.Model.ParameterCount:N0}-parameter model, context {bundle.Model.ContextLength}, up to {maxTokens} tokens per request at temperature 0.8, {threads} threads, {seconds:0} s per phase");
            Console.WriteLine("| clients | requests | failed | generated tokens/s | TTFT p50 (ms) | TTFT p99 (ms) | mean tokens per request |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            foreach (var (n, r) in new[] { (1, single), (clients, many) }.Concat(soaked.Select(x => (clients, x.Phase))))
                Console.WriteLine($"| {n} | {r.Requests} | {r.Failed} | {r.TokensPerSecond:N0} | {r.TtftP50 * 1000:F0} | {r.TtftP99 * 1000:F0} | {r.MeanTokens:F1} |");
            Console.WriteLine($"aggregate speed-up with {clients} clients: {many.TokensPerSecond / single.TokensPerSecond:F2}× (mean batch {meanBatch:F1})");
            Console.WriteLine($"batcher step: {stepSingle:F2} ms with 1 client, {stepMany:F2} ms with {clients} (busy {busyMany:P0} of the {clients}-client phase; the rest of the 2 cores went to HTTP and the clients)");
            Console.WriteLine($"resident memory: {rssStart:F0} MB after warm-up, {rssSingle:F0} MB after the single client, {rssMany:F0} MB after {clients} clients" +
                string.Concat(soaked.Select((x, i) => $", {x.Rss:F0} MB after soak phase {i + 1}")));
            Directory.CreateDirectory(outDir);
            var report = new
            {
                checkpoint = Path.GetFullPath(run), parameters = bundle.Model.ParameterCount, context = bundle.Model.ContextLength, max_tokens = maxTokens, threads, seconds, clients,
                single, concurrent = many, soak = soaked.Select(x => x.Phase).ToList(), speedup = many.TokensPerSecond / single.TokensPerSecond, mean_batch = meanBatch,
                step_ms = new { single = stepSingle, concurrent = stepMany }, batcher_busy_concurrent = busyMany,
                rss_mb = new { after_warmup = rssStart, after_single = rssSingle, after_concurrent = rssMany, after_soak_phases = soaked.Select(x => x.Rss).ToList() },
            };
            string path = Path.Combine(outDir, "serve.json");
            AtomicFile.WriteAllText(path, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
            Console.WriteLine($"wrote {path}");
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return 0;
    }

    /// <summary>Resident memory after a full garbage collection, in MB.</summary>
    static double Rss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return self.WorkingSet64 / 1e6;
    }

    internal sealed record PhaseResult(int Requests, int Failed, long Tokens, double Seconds, double TtftP50, double TtftP99)
    {
        public double TokensPerSecond => Tokens / Seconds;
        public double MeanTokens => Requests == 0 ? 0 : (double)Tokens / Math.Max(1, Requests - Failed);
    }

    /// <summary>Clients that stream completions back to back until a deadline.</summary>
    sealed class Load(Uri baseUrl, string text, int maxTokens, int context)
    {
        readonly HttpClient http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 }) { Timeout = TimeSpan.FromMinutes(5) };
        int seed;

        public async Task<PhaseResult> RunAsync(int clients, double seconds)
        {
            var clock = Stopwatch.StartNew();
            var deadline = TimeSpan.FromSeconds(seconds);
            var ttfts = new List<double>();
            int requests = 0, failed = 0;
            long tokens = 0;
            await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
            {
                while (clock.Elapsed < deadline)
                {
                    int s = Interlocked.Increment(ref seed);
                    var random = new Random(s);
                    int length = random.Next(32, Math.Min(96, context - maxTokens));
                    int start = random.Next(text.Length - length);
                    var (ok, ttft, generated) = await OneAsync(text.Substring(start, length), s);
                    lock (ttfts)
                    {
                        requests++;
                        if (!ok) failed++;
                        else
                        {
                            ttfts.Add(ttft);
                            tokens += generated;
                        }
                    }
                }
            })));
            double elapsed = clock.Elapsed.TotalSeconds;
            ttfts.Sort();
            double Percentile(double p) => ttfts.Count == 0 ? double.NaN : ttfts[Math.Min(ttfts.Count - 1, (int)Math.Ceiling(p * ttfts.Count) - 1)];
            return new PhaseResult(requests, failed, tokens, elapsed, Percentile(0.5), Percentile(0.99));
        }

        async Task<(bool Ok, double Ttft, int Tokens)> OneAsync(string prompt, int seed)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                var body = new { prompt, max_tokens = maxTokens, temperature = 0.8, seed, stream = true, stream_options = new { include_usage = true } };
                using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/completions") { Content = JsonContent.Create(body) };
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                if (!response.IsSuccessStatusCode) return (false, 0, 0);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8);
                double ttft = double.NaN;
                int generated = -1;
                bool done = false;
                for (string? line; (line = await reader.ReadLineAsync()) is not null;)
                {
                    if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                    if (line == "data: [DONE]")
                    {
                        done = true;
                        break;
                    }
                    using var json = JsonDocument.Parse(line[6..]);
                    if (json.RootElement.TryGetProperty("error", out _)) return (false, 0, 0);
                    if (double.IsNaN(ttft) && json.RootElement.GetProperty("choices").GetArrayLength() > 0) ttft = clock.Elapsed.TotalSeconds;
                    if (json.RootElement.TryGetProperty("usage", out var usage)) generated = usage.GetProperty("completion_tokens").GetInt32();
                }
                return (done && generated >= 0, ttft, generated);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
            {
                return (false, 0, 0);
            }
        }
    }
}
