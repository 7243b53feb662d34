using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpLM.Adaptation.Alignment;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Runtime;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm rm train|score`: reward models on preference pairs.</summary>
public static class RewardModelCommand
{
    public static Command Create()
    {
        var baseDir = new Option<string>("--base") { Description = "Checkpoint the backbone starts from (usually the SFT model); its tokenizer must encode the pairs.", Required = true };
        var data = new Option<string>("--data") { Description = "Preference pairs: a JSONL file, a data set name (hh-rlhf), or synthetic[:style|correctness].", DefaultValueFactory = _ => "synthetic" };
        var heldOut = new Option<string?>("--eval") { Description = "Held-out pairs (default: the synthetic test split, or the last --eval-fraction of --data)." };
        var fraction = new Option<double>("--eval-fraction") { DefaultValueFactory = _ => 0.2 };
        var output = new Option<string>("--out") { Description = "Output directory: the reward model, metrics.jsonl, rm_summary.json, PNGs.", Required = true };
        var method = new Option<string>("--method") { Description = "full or lora.", DefaultValueFactory = _ => PolicyMethods.Full };
        var maxIters = new Option<int>("--max-iters") { DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch-size") { Description = "Pairs per step.", DefaultValueFactory = _ => 16 };
        var lr = new Option<double>("--learning-rate") { DefaultValueFactory = _ => 1e-3 };
        var margin = new Option<double>("--margin") { Description = "Bradley–Terry margin (0 = plain).", DefaultValueFactory = _ => 0 };
        var evalInterval = new Option<int>("--eval-interval") { DefaultValueFactory = _ => 50 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1337 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 0 };
        var loraR = new Option<int>("--lora-r") { DefaultValueFactory = _ => 8 };
        var train = new Command("train", "Train a reward model (Bradley–Terry) and report held-out pairwise accuracy with a 95% interval.")
        {
            baseDir, data, heldOut, fraction, output, method, maxIters, batch, lr, margin, evalInterval, seed, threads, loraR,
        };
        train.SetAction(p =>
        {
            var (pairs, test, skipped) = PreferenceSource.Load(p.GetValue(data)!, p.GetValue(heldOut), p.GetValue(fraction), new SyntheticSuiteOptions());
            Console.Error.WriteLine($"{pairs.Count:N0} training pairs, {test.Count:N0} held out{(skipped > 0 ? $", {skipped} skipped while reading" : "")}");
            var options = new RewardModelOptions
            {
                Base = p.GetValue(baseDir)!, Method = p.GetValue(method)!, MaxIters = p.GetValue(maxIters), BatchSize = p.GetValue(batch), LearningRate = p.GetValue(lr),
                Margin = p.GetValue(margin), EvalInterval = p.GetValue(evalInterval), Seed = p.GetValue(seed), Threads = p.GetValue(threads),
                Lora = new LoraOptions { Rank = p.GetValue(loraR), Alpha = 2 * p.GetValue(loraR), TargetModules = ["attn.c_attn", "attn.c_proj", "mlp.c_proj"] },
            }.Validate();
            var c = CultureInfo.InvariantCulture;
            var summary = RewardModelTrainer.Run(options, pairs, test, p.GetValue(output)!, AlignCommand.Progress(),
                e => Console.WriteLine(string.Create(c, $"eval step {e.Step}: held-out accuracy {e.Accuracy:P1} [{e.Low:P1}, {e.High:P1}] on {e.Pairs} pairs, mean margin {e.MeanMargin:F3}")));
            var final = summary.Evaluations[^1];
            var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            table.AddRow("training pairs", string.Create(c, $"{summary.TrainPairs:N0} ({summary.SkippedPairs:N0} left out: not encodable)"));
            table.AddRow("trainable parameters", summary.TrainableParameters.ToString("N0", c));
            table.AddRow("held-out accuracy", string.Create(c, $"{final.Accuracy:P1} (95% CI {final.Low:P1}–{final.High:P1}, {final.Pairs} pairs)"));
            table.AddRow("mean margin r(chosen) − r(rejected)", final.MeanMargin.ToString("F3", c));
            table.AddRow("train time", string.Create(c, $"{summary.TrainSeconds:F1} s"));
            table.AddRow("peak RSS", string.Create(c, $"{summary.PeakRssMb:F0} MB"));
            AnsiConsole.Write(table);
            Console.WriteLine($"wrote {p.GetValue(output)}: {RewardModel.HeadFile}, checkpoint.json, {RewardModelTrainer.SummaryFile}, loss.png, accuracy.png");
            return 0;
        });

        var model = new Option<string>("--model") { Description = "Reward model directory.", Required = true };
        var pairsFile = new Option<string>("--data") { Description = "Preference pairs to score (accuracy), or synthetic[:KIND] (its test split).", Required = true };
        var score = new Command("score", "Score preference pairs with a reward model: pairwise accuracy with a 95% interval and mean margin (JSON).") { model, pairsFile };
        score.SetAction(p =>
        {
            string spec = p.GetValue(pairsFile)!;
            var pairs = spec.StartsWith("synthetic", StringComparison.Ordinal)
                ? PreferenceSource.Load(spec, null, 0, new SyntheticSuiteOptions()).HeldOut
                : PreferenceData.Read(spec, out _);
            using var rm = RewardModel.Load(p.GetValue(model)!, TorchSharp.torch.CPU);
            var kept = PreferenceData.Encodable(pairs, rm.Template, rm.Tokenizer, out int skipped);
            if (kept.Count == 0) throw InvalidInputException.ForFile(spec, "no pair can be encoded by the reward model's tokenizer");
            var e = RewardEval.Measure(rm, kept, 0);
            Console.WriteLine(JsonSerializer.Serialize(new { e.Pairs, Skipped = skipped, e.Accuracy, Ci95 = new[] { e.Low, e.High }, e.MeanMargin }, Json.Options));
            return 0;
        });
        return new Command("rm", "Reward models: train on preference pairs, score pairs.") { train, score };
    }
}
