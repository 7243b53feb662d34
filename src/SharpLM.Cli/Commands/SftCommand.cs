using System.CommandLine;
using System.Globalization;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Adaptation.Peft.Adapter;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Adaptation.Peft.Prefix;
using SharpLM.Adaptation.Peft.Prompt;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm sft`: instruction tuning of a checkpoint, fully or with a PEFT method.</summary>
public static class SftCommand
{
    public static Command Create()
    {
        var baseDir = new Option<string>("--base") { Description = "Base checkpoint directory.", Required = true };
        var data = new Option<string>("--data") { Description = "Chat/instruction file, or 'synthetic[:SEED]' with --format tasks.", Required = true };
        var format = new Option<string>("--format") { Description = "alpaca, chatml, sharegpt, messages or tasks.", Required = true };
        var method = new Option<string>("--method") { Description = "full, lora, adapter, prefix or prompt.", DefaultValueFactory = _ => "full" };
        var output = new Option<string>("--out") { Description = "Output directory (checkpoint, or adapter for PEFT methods).", Required = true };
        var maxIters = new Option<int>("--max-iters") { DefaultValueFactory = _ => 300 };
        var batch = new Option<int>("--batch-size") { Description = "Packed rows per step.", DefaultValueFactory = _ => 16 };
        var lr = new Option<double?>("--learning-rate") { Description = "Peak learning rate (default: 1e-3 full, 3e-3 PEFT)." };
        var evalInterval = new Option<int>("--eval-interval") { DefaultValueFactory = _ => 100 };
        var evalLimit = new Option<int>("--eval-limit") { Description = "Held-out prompts per evaluation (0 = all).", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1337 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 0 };
        var loraR = new Option<int>("--lora-r") { DefaultValueFactory = _ => 8 };
        var loraAlpha = new Option<double>("--lora-alpha") { DefaultValueFactory = _ => 16 };
        var loraDropout = new Option<double>("--lora-dropout") { DefaultValueFactory = _ => 0 };
        var loraPlus = new Option<double>("--lora-plus-ratio") { Description = "LoRA+: B's learning rate over A's (1 = plain LoRA; the paper suggests 16).", DefaultValueFactory = _ => 1 };
        var loraTargets = new Option<string>("--lora-targets") { Description = "Comma-separated module patterns.", DefaultValueFactory = _ => "attn.c_attn,attn.c_proj" };
        var adapterSize = new Option<int>("--adapter-size") { Description = "Bottleneck width.", DefaultValueFactory = _ => 16 };
        var prefixLength = new Option<int>("--prefix-length") { DefaultValueFactory = _ => 10 };
        var promptLength = new Option<int>("--prompt-length") { DefaultValueFactory = _ => 20 };
        var styled = new Option<double>("--styled-replies") { Description = "With --data synthetic: the fraction (0–1) of training replies written in the house style 'Answer: X' (the style alignment then prefers).", DefaultValueFactory = _ => 0 };
        var command = new Command("sft", "Instruction tuning (SFT): full fine-tuning or LoRA / adapters / prefix / prompt tuning.")
        {
            baseDir, data, format, method, output, maxIters, batch, lr, evalInterval, evalLimit, seed, threads,
            loraR, loraAlpha, loraDropout, loraPlus, loraTargets, adapterSize, prefixLength, promptLength, styled,
        };
        command.SetAction(parse =>
        {
            string m = parse.GetValue(method)!;
            if (parse.GetValue(styled) is < 0 or > 1) throw new InvalidInputException("--styled-replies: must be a fraction in [0, 1]");
            var options = new SftRunOptions
            {
                Base = parse.GetValue(baseDir)!, Data = parse.GetValue(data)!, Format = parse.GetValue(format)!, Method = m,
                Lora = new LoraOptions
                {
                    Rank = parse.GetValue(loraR), Alpha = parse.GetValue(loraAlpha), Dropout = parse.GetValue(loraDropout), LoraPlusLrRatio = parse.GetValue(loraPlus),
                    TargetModules = parse.GetValue(loraTargets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                }.Validate("--lora-*"),
                Adapter = new AdapterOptions { BottleneckSize = parse.GetValue(adapterSize) }.Validate("--adapter-size"),
                Prefix = new PrefixOptions { Length = parse.GetValue(prefixLength) }.Validate("--prefix-length"),
                Prompt = new PromptOptions { Length = parse.GetValue(promptLength) }.Validate("--prompt-length"),
                Training = new SftOptions
                {
                    MaxIters = parse.GetValue(maxIters), BatchSize = parse.GetValue(batch), LearningRate = parse.GetValue(lr) ?? DefaultLearningRate(m),
                    MinLr = (parse.GetValue(lr) ?? DefaultLearningRate(m)) / 10, EvalInterval = parse.GetValue(evalInterval),
                    Seed = parse.GetValue(seed), Threads = parse.GetValue(threads),
                }.Validate(),
                EvalLimit = parse.GetValue(evalLimit),
                Suite = parse.GetValue(styled) > 0 ? new SharpLM.Adaptation.Formatting.SyntheticSuiteOptions { StyledReplies = parse.GetValue(styled) } : null,
            };
            var c = CultureInfo.InvariantCulture;
            DateTime last = DateTime.MinValue;
            var summary = SftRun.Run(options, parse.GetValue(output)!,
                onStep: s =>
                {
                    if (DateTime.UtcNow - last < TimeSpan.FromSeconds(5)) return;
                    last = DateTime.UtcNow;
                    double eta = s.MsPerIter * (options.Training.MaxIters - s.Step - 1) / 1000;
                    Console.WriteLine(string.Create(c, $"step {s.Step + 1}/{options.Training.MaxIters}  loss {s.Loss:F4}  {s.MsPerIter:F1} ms/iter  ETA {TimeSpan.FromSeconds(eta):hh\\:mm\\:ss}"));
                },
                onEval: e => Console.WriteLine(string.Create(c, $"eval step {e.Step}: held-out exact match {e.ExactMatch:P1}")));
            var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            table.AddRow("method", summary.Method);
            table.AddRow("training conversations", string.Create(c, $"{summary.TrainExamples:N0} ({summary.SkippedExamples:N0} left out: not encodable)"));
            table.AddRow("trainable parameters", string.Create(c, $"{summary.Training.TrainableParameters:N0} of {summary.Training.TotalParameters:N0} ({summary.Training.TrainablePercent:F2}%)"));
            table.AddRow("held-out exact match before", summary.BaseExactMatch.ToString("P1", c));
            table.AddRow("held-out exact match after", (summary.Training.FinalExactMatch ?? double.NaN).ToString("P1", c));
            table.AddRow("train time", string.Create(c, $"{summary.Training.TrainSeconds:F1} s"));
            table.AddRow("peak RSS", string.Create(c, $"{summary.Training.PeakRssMb:F0} MB"));
            table.AddRow("saved", string.Create(c, $"{summary.SavedBytes / 1024.0:F1} KiB"));
            AnsiConsole.Write(table);
            Console.WriteLine($"wrote {Path.Combine(parse.GetValue(output)!, SftRun.SummaryFile)}");
            return 0;
        });
        return command;
    }

    /// <summary>PEFT methods train few, freshly initialised parameters and take a larger step, as PEFT's examples do.</summary>
    public static double DefaultLearningRate(string method) => method == "full" ? 1e-3 : 3e-3;
}
