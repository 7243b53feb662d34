using System.CommandLine;
using System.Globalization;
using SharpLM.Evaluation.Harness;
using SharpLM.Evaluation.Models;
using SharpLM.Runtime;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm eval run`: task files against a checkpoint or an OpenAI-compatible server.</summary>
public static class EvalRunCommand
{
    public static Command Create()
    {
        var tasks = new Option<string>("--tasks") { Description = $"Comma list of task names or task files. Shipped: {string.Join(", ", TaskConfig.BuiltIn)}.", Required = true };
        var model = new Option<string>("--model") { Description = "checkpoint:DIR, or openai:URL[,model=NAME][,chat=true][,api_key_env=VAR][,timeout=SECONDS].", Required = true };
        var limit = new Option<int?>("--limit") { Description = "Only the first N documents of each task." };
        var shots = new Option<int?>("--num-fewshot") { Description = "Override every task's few-shot count." };
        var seed = new Option<ulong>("--seed") { Description = "Few-shot selection and sampling seed.", DefaultValueFactory = _ => 1234UL };
        var batch = new Option<int>("--batch-size") { Description = "Checkpoint models: requests per forward pass (scores do not depend on it).", DefaultValueFactory = _ => 16 };
        var output = new Option<string>("--out") { Description = "Directory for results.json, samples.jsonl and results.md.", Required = true };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N (checkpoint models).", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (default: all cores).", DefaultValueFactory = _ => 0 };
        var anyPath = new Option<bool>("--allow-any-path") { Description = "Let task files read absolute paths and paths with '..' (refused by default: their contents go into prompts and samples.jsonl)." };
        var weakSandbox = new Option<bool>("--allow-weak-sandbox")
        {
            Description = "Code tasks: without bubblewrap, run generated code under the strongest weaker isolation that works (unshare, or the Python guard alone) instead of skipping them.",
        };

        var run = new Command("run", "Evaluate a model on benchmark task files; writes results.json, samples.jsonl and a Markdown table.")
        {
            tasks, model, limit, shots, seed, batch, output, device, threads, anyPath, weakSandbox,
        };
        run.SetAction(async (parse, cancellation) =>
        {
            var configs = parse.GetValue(tasks)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(TaskConfig.Resolve).ToList();
            if (parse.GetValue(limit) is <= 0) throw new InvalidInputException("--limit: must be positive");
            if (parse.GetValue(batch) <= 0) throw new InvalidInputException("--batch-size: must be positive");
            TorchRuntime.SetThreads(parse.GetValue(threads));
            using var evaluated = ModelSpec.Open(parse.GetValue(model)!, TorchRuntime.ParseDevice(parse.GetValue(device)!), parse.GetValue(batch));
            var options = new EvaluationOptions
            {
                Limit = parse.GetValue(limit), NumFewshot = parse.GetValue(shots), Seed = parse.GetValue(seed), AllowAnyPath = parse.GetValue(anyPath),
                CodeRunner = await SandboxedCodeRunner.CreateAsync(new() { AllowWeakIsolation = parse.GetValue(weakSandbox) }, cancellation),
            };
            if (configs.Any(t => t.OutputType == OutputType.Code) && options.CodeRunner is SandboxedCodeRunner sandbox)
                Console.Error.WriteLine(sandbox.Unavailable is null ? $"code runs in: {sandbox.Isolation}" : $"code tasks will be skipped: {sandbox.Unavailable}");
            string outDir = parse.GetValue(output)!;
            var results = await EvaluationRun.RunAsync(evaluated.Model, configs, options, outDir, Console.Error.WriteLine, cancellation);
            PrintTable(results);
            if (evaluated.Model is CheckpointModel { DroppedCharacters: > 0 } local)
                Console.Error.WriteLine($"note: {local.DroppedCharacters:N0} characters of prompts and answers are not in the model's vocabulary and were dropped before scoring");
            Console.WriteLine($"results → {Path.Combine(outDir, "results.json")}; samples → {Path.Combine(outDir, "samples.jsonl")}");
            return 0;
        });
        return run;
    }

    static void PrintTable(IReadOnlyList<TaskResult> results)
    {
        var c = CultureInfo.InvariantCulture;
        var table = new Table().AddColumn("task").AddColumn(new TableColumn("n").RightAligned()).AddColumn(new TableColumn("shots").RightAligned())
            .AddColumn("metric").AddColumn(new TableColumn("value").RightAligned()).AddColumn(new TableColumn("± stderr").RightAligned());
        foreach (var r in results)
        {
            if (r.Skipped is not null) { table.AddRow(r.Task, "", "", Markup.Escape($"skipped: {r.Skipped}"), "", ""); continue; }
            foreach (var (metric, value) in r.Metrics)
                table.AddRow(r.Task, r.Documents.ToString(c), r.NumFewshot.ToString(c), metric, value.ToString("F4", c),
                    r.Stderr.TryGetValue(metric, out double se) ? se.ToString("F4", c) : "");
        }
        AnsiConsole.Write(table);
    }
}

/// <summary>The model named by --model: "checkpoint:DIR" or "openai:URL[,key=value…]".</summary>
public sealed class ModelSpec : IDisposable
{
    ModelSpec(IEvaluationModel model) => Model = model;

    public IEvaluationModel Model { get; }

    public static ModelSpec Open(string spec, TorchSharp.torch.Device device, int batchSize)
    {
        if (spec.StartsWith("checkpoint:", StringComparison.Ordinal))
        {
            // The rest is any model ModelBundle reads: a run directory, hf:DIR or gguf:FILE.
            return new ModelSpec(CheckpointModel.Load(spec["checkpoint:".Length..], device, batchSize));
        }
        if (spec.StartsWith("openai:", StringComparison.Ordinal))
        {
            string[] parts = spec["openai:".Length..].Split(',');
            if (!Uri.TryCreate(parts[0], UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
                throw new InvalidInputException($"--model: '{parts[0]}' is not an http(s) URL");
            var options = new OpenAiCompatibleOptions { BaseUrl = url };
            foreach (string part in parts.Skip(1))
            {
                int eq = part.IndexOf('=');
                string key = eq < 0 ? part : part[..eq], value = eq < 0 ? "" : part[(eq + 1)..];
                options = key switch
                {
                    "model" => options with { Model = value },
                    "chat" => options with { Chat = value is "" or "true" or "1" },
                    "api_key_env" => options with { ApiKey = Environment.GetEnvironmentVariable(value) ?? throw new InvalidInputException($"--model: environment variable {value} is not set") },
                    "timeout" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s > 0 => options with { RequestTimeout = TimeSpan.FromSeconds(s) },
                    _ => throw new InvalidInputException($"--model: unknown or malformed setting '{part}' (model=, chat=, api_key_env=, timeout=)"),
                };
            }
            return new ModelSpec(new OpenAiCompatibleModel(options.Validate()));
        }
        throw new InvalidInputException($"--model: '{spec}' (checkpoint:DIR or openai:URL[,model=NAME])");
    }

    public void Dispose() => (Model as IDisposable)?.Dispose();
}
