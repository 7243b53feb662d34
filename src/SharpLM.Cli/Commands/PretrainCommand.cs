using System.CommandLine;
using SharpLM.Data;
using SharpLM.Training;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm pretrain`: prepares data if needed and trains a GPT from a preset or config file.</summary>
public static class PretrainCommand
{
    public static Command Create()
    {
        var preset = new Option<string?>("--preset") { Description = $"Bundled config: {string.Join(", ", PretrainConfig.PresetNames())} (default shakespeare-char)." };
        var config = new Option<string?>("--config") { Description = "Config JSON file (same shape as configs/*.json)." };
        var data = new Option<string>("--data") { Description = "Text file, .jsonl, directory, prepared-data directory, URL, or 'tinyshakespeare'.", DefaultValueFactory = _ => Corpora.TinyShakespeareName };
        var field = new Option<string>("--field") { Description = "JSON field holding the text in .jsonl input.", DefaultValueFactory = _ => "text" };
        var output = new Option<string>("--out") { Description = "Run directory: checkpoints, metrics.jsonl, summary.json, loss.png.", Required = true };
        var maxIters = new Option<int?>("--max-iters") { Description = "Optimizer steps." };
        var evalInterval = new Option<int?>("--eval-interval") { Description = "Steps between evaluations and checkpoints." };
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads (default: all cores)." };
        var seed = new Option<int?>("--seed") { Description = "Random seed (weights, batches)." };
        var device = new Option<string?>("--device") { Description = "cpu, cuda or cuda:N." };
        var resume = new Option<bool>("--resume") { Description = "Continue the checkpoint in --out (bit-identical to an uninterrupted run)." };

        var command = new Command("pretrain", "Pre-train a GPT language model. Any config field can be overridden with --field value (e.g. --n_layer 6, --model.dropout 0.1).")
        {
            preset, config, data, field, output, maxIters, evalInterval, threads, seed, device, resume,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            string? presetName = parse.GetValue(preset), configPath = parse.GetValue(config);
            if (presetName is not null && configPath is not null) throw new InvalidInputException("--preset and --config: give one, not both");
            PretrainConfig cfg = configPath is not null ? PretrainConfig.Load(configPath) : PretrainConfig.Preset(presetName ?? "shakespeare-char");

            var overrides = UnmatchedOverrides(parse.UnmatchedTokens);
            void Set(string key, object? value)
            {
                if (value is not null) overrides.Add(new(key, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!));
            }
            Set("max_iters", parse.GetValue(maxIters));
            Set("eval_interval", parse.GetValue(evalInterval));
            Set("threads", parse.GetValue(threads));
            Set("seed", parse.GetValue(seed));
            Set("device", parse.GetValue(device));
            // As nanoGPT's usage: a new max_iters decays the learning rate over the new run unless told otherwise.
            string? iters = overrides.LastOrDefault(o => Normalized(o.Key) == "max_iters").Value;
            if (iters is not null && !overrides.Any(o => Normalized(o.Key) == "lr_decay_iters") && int.TryParse(iters, out int n))
                Set("lr_decay_iters", Math.Max(n, cfg.Training.WarmupIters));
            cfg = cfg.WithOverrides(overrides);

            string outDir = parse.GetValue(output)!;
            string dataDir = Pretraining.PrepareData(parse.GetValue(data)!, parse.GetValue(field)!, cfg.Tokenizer, outDir, Console.Error.WriteLine);
            var observer = new ConsoleTrainingObserver();
            using var cancel = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
            var summary = observer.Run(() => Pretraining.Run(cfg, dataDir, outDir, observer, parse.GetValue(resume), cancel.Token));
            bool root = (Distributed.Mpi.LaunchedRank ?? 0) == 0; // under mpirun rank 0 reports for the job
            if (root && !observer.AlreadyFinished) ConsoleTrainingObserver.PrintSummary(summary, outDir);
            return 0;
        });
        return command;
    }

    static string Normalized(string key)
    {
        string k = key.TrimStart('-').Replace('-', '_');
        return k.StartsWith("training.", StringComparison.Ordinal) ? k["training.".Length..] : k;
    }

    /// <summary>Pairs "--key value" (or "--key=value") tokens that System.CommandLine did not recognise.</summary>
    static List<KeyValuePair<string, string>> UnmatchedOverrides(IReadOnlyList<string> tokens)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        for (int i = 0; i < tokens.Count; i++)
        {
            string token = tokens[i];
            if (!token.StartsWith("--", StringComparison.Ordinal)) throw new InvalidInputException($"unexpected argument '{token}'");
            int eq = token.IndexOf('=');
            if (eq > 0) pairs.Add(new(token[2..eq], token[(eq + 1)..]));
            else if (i + 1 < tokens.Count) pairs.Add(new(token[2..], tokens[++i]));
            else throw new InvalidInputException($"{token}: missing value");
        }
        return pairs;
    }
}
