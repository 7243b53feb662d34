using System.Globalization;
using System.Text;

namespace SharpLM.Server;

/// <summary>
/// What GET /metrics reports, in Prometheus' text exposition format (version 0.0.4): requests by route and status,
/// latency histograms (whole request, and time to the first generated token), queue depth, and the batchers'
/// token counters and current generation rate.
/// </summary>
internal sealed class ServerMetrics
{
    /// <summary>Bucket bounds in seconds, from a fast token (5 ms) to the request timeout's range.</summary>
    static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    readonly object gate = new();
    readonly Dictionary<(string Route, int Status), long> requests = [];
    readonly Dictionary<string, Histogram> durations = [];
    readonly Histogram firstToken = new();

    public void Answered(string route, int status, TimeSpan elapsed)
    {
        lock (gate)
        {
            requests[(route, status)] = requests.GetValueOrDefault((route, status)) + 1;
            if (!durations.TryGetValue(route, out var h)) durations[route] = h = new Histogram();
            h.Observe(elapsed.TotalSeconds);
        }
    }

    public void FirstToken(TimeSpan elapsed)
    {
        lock (gate) firstToken.Observe(elapsed.TotalSeconds);
    }

    /// <summary>The exposition text for <paramref name="access"/>'s models and queue.</summary>
    public string Render(ModelAccess access)
    {
        var text = new StringBuilder();
        lock (gate)
        {
            Header(text, "sharplm_http_requests_total", "counter", "HTTP requests answered, by route and status.");
            foreach (var ((route, status), count) in requests.OrderBy(r => r.Key.Route, StringComparer.Ordinal).ThenBy(r => r.Key.Status))
                text.Append($"sharplm_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}\n");
            Header(text, "sharplm_http_request_duration_seconds", "histogram", "Time from a request's arrival to its last byte, by route.");
            foreach (var (route, h) in durations.OrderBy(d => d.Key, StringComparer.Ordinal))
                h.Write(text, "sharplm_http_request_duration_seconds", $"route=\"{route}\"");
            Header(text, "sharplm_time_to_first_token_seconds", "histogram", "Time from a generation request's arrival to its first generated token.");
            firstToken.Write(text, "sharplm_time_to_first_token_seconds", null);
        }
        Header(text, "sharplm_requests_in_flight", "gauge", "Requests generating or waiting for the model.");
        text.Append($"sharplm_requests_in_flight {access.Pending}\n");
        // Models that share a batcher (adapters over one base) report it once.
        var batchers = access.Models.Where(m => m.Metrics is not null).GroupBy(m => m.Metrics!).Select(g => (Model: g.First().Id, Metrics: g.Key)).ToList();
        void Per(string name, string type, string help, Func<Inference.Batching.BatcherMetrics, string> value)
        {
            Header(text, name, type, help);
            foreach (var (model, m) in batchers) text.Append($"{name}{{model=\"{model}\"}} {value(m)}\n");
        }
        Per("sharplm_batch_sequences", "gauge", "Sequences in the running batch.", m => Number(m.Active));
        Per("sharplm_queue_depth", "gauge", "Generations waiting for a batch slot.", m => Number(m.Waiting));
        Per("sharplm_generation_requests_total", "counter", "Generations that entered the batcher.", m => Number(m.Requests));
        Per("sharplm_prompt_tokens_total", "counter", "Prompt tokens fed to the model.", m => Number(m.PromptTokens));
        Per("sharplm_generated_tokens_total", "counter", "Tokens generated.", m => Number(m.GeneratedTokens));
        Per("sharplm_generated_tokens_per_second", "gauge", "Tokens generated per second over the last 10 seconds.", m => Number(m.TokensPerSecond));
        Per("sharplm_decode_steps_total", "counter", "Batched decoding steps.", m => Number(m.Steps));
        Per("sharplm_decode_rows_total", "counter", "Sequences advanced, summed over steps (divided by steps: the mean batch).", m => Number(m.BatchedRows));
        Per("sharplm_step_seconds_total", "counter", "Time spent in decoding steps.", m => Number(m.StepTime.TotalSeconds));
        Header(text, "sharplm_generations_finished_total", "counter", "Generations that ended, by reason (stop, length, cancelled, error).");
        foreach (var (model, m) in batchers)
            foreach (var (reason, count) in m.FinishedByReason.OrderBy(r => r.Key, StringComparer.Ordinal))
                text.Append($"sharplm_generations_finished_total{{model=\"{model}\",reason=\"{reason}\"}} {count}\n");
        return text.ToString();
    }

    static void Header(StringBuilder text, string name, string type, string help) => text.Append($"# HELP {name} {help}\n# TYPE {name} {type}\n");

    static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    sealed class Histogram
    {
        readonly long[] counts = new long[Buckets.Length];
        long total;
        double sum;

        public void Observe(double seconds)
        {
            for (int i = 0; i < Buckets.Length; i++) if (seconds <= Buckets[i]) counts[i]++;
            total++;
            sum += seconds;
        }

        public void Write(StringBuilder text, string name, string? labels)
        {
            string prefix = labels is null ? "" : labels + ",";
            for (int i = 0; i < Buckets.Length; i++) text.Append($"{name}_bucket{{{prefix}le=\"{Number(Buckets[i])}\"}} {counts[i]}\n");
            text.Append($"{name}_bucket{{{prefix}le=\"+Inf\"}} {total}\n");
            string braces = labels is null ? "" : $"{{{labels}}}";
            text.Append($"{name}_sum{braces} {Number(sum)}\n{name}_count{braces} {total}\n");
        }
    }
}
