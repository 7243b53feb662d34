using System.CommandLine;
using SharpLM.Server;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm serve`: an OpenAI-compatible HTTP server over a checkpoint, until Ctrl+C or SIGTERM.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var defaults = new OpenAiServerOptions();
        var ckpt = new CheckpointOptions();
        var host = new Option<string>("--host") { Description = "IP address to listen on (0.0.0.0 exposes the server to the network).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port; 0 picks a free one.", DefaultValueFactory = _ => 8080 };
        var name = new Option<string?>("--model-name") { Description = "Model id reported to clients (default: the checkpoint directory's name)." };
        var maxBody = new Option<double>("--max-body-mb") { Description = "Largest request body in MiB; larger ones get 413.", DefaultValueFactory = _ => defaults.MaxRequestBodyBytes / (1024.0 * 1024) };
        var serving = new ServingOptions();
        var maxBatch = new Option<int>("--max-batch") { Description = "Generations advanced together in one forward pass (continuous batching); more wait for a slot.", DefaultValueFactory = _ => serving.MaxBatch };
        var prefillChunk = new Option<int>("--prefill-chunk") { Description = "Prompt tokens fed per step, so a long prompt does not stall the other generations.", DefaultValueFactory = _ => serving.PrefillChunk };
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests that may wait beyond the batch; more get 429.", DefaultValueFactory = _ => defaults.MaxQueuedRequests };
        var timeout = new Option<double>("--request-timeout") { Description = "Seconds a request may take, waiting included; then its generation stops (504).", DefaultValueFactory = _ => defaults.RequestTimeout.TotalSeconds };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens one request may generate (400 beyond), whatever the model's context.", DefaultValueFactory = _ => defaults.MaxCompletionTokens };
        var maxPrompts = new Option<int>("--max-prompts") { Description = "Most prompts in one completions request.", DefaultValueFactory = _ => defaults.MaxPrompts };
        var maxMessages = new Option<int>("--max-messages") { Description = "Most messages in one chat request.", DefaultValueFactory = _ => defaults.MaxMessages };
        var maxChars = new Option<int>("--max-prompt-chars") { Description = "Most characters of prompt text in one request.", DefaultValueFactory = _ => defaults.MaxPromptCharacters };
        var apiKey = new Option<string?>("--api-key") { Description = "Require Authorization: Bearer <key> on every request (default: $SHARPLM_API_KEY if set; the environment keeps it out of the process list)." };
        var allowedHosts = new Option<string[]>("--allowed-hosts")
        {
            Description = "Host names accepted in the Host header besides localhost, 127.0.0.1 and [::1] (comma-separated or repeated); others get 421.",
            AllowMultipleArgumentsPerToken = true,
        };

        var loras = new Option<string[]>("--lora")
        {
            Description = "NAME=DIR: a LoRA adapter served beside the base as model NAME, over the same weights and in the same batch (repeat for several; requests pick one by their model field).",
            AllowMultipleArgumentsPerToken = true,
        };

        var command = new Command("serve", "Serve a checkpoint over an OpenAI-compatible API (/v1/models, /v1/completions, /v1/chat/completions, /health, /metrics), batching concurrent requests.")
        {
            host, port, name, loras, maxBatch, prefillChunk, maxBody, maxQueue, timeout, maxTokens, maxPrompts, maxMessages, maxChars, apiKey, allowedHosts,
        };
        ckpt.AddTo(command);
        command.SetAction(parse =>
        {
            double mb = parse.GetValue(maxBody), seconds = parse.GetValue(timeout);
            if (!(mb > 0) || mb > 1024) throw new InvalidInputException($"--max-body-mb {mb}: must be more than 0 and at most 1024");
            if (!(seconds > 0) || seconds > 86_400) throw new InvalidInputException($"--request-timeout {seconds}: must be more than 0 and at most 86400 seconds");
            var options = new OpenAiServerOptions
            {
                Host = parse.GetValue(host)!, Port = parse.GetValue(port),
                MaxRequestBodyBytes = (long)(mb * 1024 * 1024), MaxQueuedRequests = parse.GetValue(maxQueue),
                RequestTimeout = TimeSpan.FromSeconds(seconds), MaxCompletionTokens = parse.GetValue(maxTokens),
                MaxPrompts = parse.GetValue(maxPrompts), MaxMessages = parse.GetValue(maxMessages), MaxPromptCharacters = parse.GetValue(maxChars),
                ApiKey = parse.GetValue(apiKey) ?? (Environment.GetEnvironmentVariable("SHARPLM_API_KEY") is { Length: > 0 } env ? env : null),
                AllowedHosts = (parse.GetValue(allowedHosts) ?? []).SelectMany(h => h.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray(),
            };
            var named = (parse.GetValue(loras) ?? []).Select(ParseLora).ToList();
            var bundle = ckpt.Load(parse);
            string id = parse.GetValue(name) ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(bundle.Location.Path)));
            if (named.Select(l => l.Name).Append(id).GroupBy(n => n).FirstOrDefault(g => g.Count() > 1) is { } twice)
                throw new InvalidInputException($"--lora: the model name '{twice.Key}' is used twice (the base is '{id}')");
            Adaptation.Peft.Lora.LoraSet? set = null;
            IReadOnlyList<Adaptation.Formatting.ChatTemplate?> templates = [];
            if (named.Count > 0) (bundle, set, templates) = bundle.WithLoras(named.Select(l => l.Directory).ToList());
            // An SFT run has its chat template; a base model's chat requests stay a plain transcript.
            using var served = new GptServedModel(bundle.Model, bundle.Tokenizer, bundle.Device, id, bundle.Template,
                new ServingOptions { MaxBatch = parse.GetValue(maxBatch), PrefillChunk = parse.GetValue(prefillChunk) }, set);
            var models = new List<IServedModel> { served };
            models.AddRange(named.Select((l, i) => served.ForAdapter(i, l.Name, templates[i])));
            var server = OpenAiServer.StartAsync(models, options).GetAwaiter().GetResult();
            // The one line the server prints: where to point clients (the port is the real one when --port 0).
            Console.WriteLine($"serving {string.Join(", ", models.Select(m => m.Id))} at {server.BaseUrl}");
            // The host's console lifetime turns SIGTERM and Ctrl+C into a stop: this returns, in-flight
            // generations are cancelled (their token includes the server stopping) and the process exits.
            server.WaitForShutdownAsync().GetAwaiter().GetResult();
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return 0;
        });
        return command;
    }

    static (string Name, string Directory) ParseLora(string spec)
    {
        int eq = spec.IndexOf('=');
        if (eq <= 0 || eq == spec.Length - 1) throw new InvalidInputException($"--lora {spec}: expected NAME=DIR (the model name requests use, then the adapter directory)");
        string dir = spec[(eq + 1)..];
        if (!Directory.Exists(dir)) throw InvalidInputException.ForFile(dir, "not found (--lora)");
        return (spec[..eq], dir);
    }
}
