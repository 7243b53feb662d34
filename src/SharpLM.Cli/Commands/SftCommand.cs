using System.CommandLine;
using System.Globalization;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Adaptation.Peft;
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
        var method = new Option<string>("--method") { Description = $"{Enumerate(SftRunOptions.Methods)}.", DefaultValueFactory = _ => SftRunOptions.Full };
        var output = new Option<string>("--out") { Description = "Output directory (checkpoint, or adapter for PEFT methods).", Required = true };
        var maxIters = new Option<int>("--max-iters") { DefaultValueFactory = _ => 300 };
        var batch = new Option<int>("--batch-size") { Description = "Packed rows per step.", DefaultValueFactory = _ => 16 };
        var lr = new Option<double?>("--learning-rate") { Description = "Peak learning rate (default: 1e-3 full, 3e-3 PEFT)." };
        var evalInterval = new Option<int>("--eval-interval") { DefaultValueFactory = _ => 100 };
        var evalLimit = new Option<int>("--eval-limit") { Description = "Held-out prompts per evaluation (0 = all).", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1337 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 0 };
        var precision = new Option<string>("--precision") { Description = "fp32, or bf16-mixed (Linear products in bf16 over float32 weights and optimizer state).", DefaultValueFactory = _ => "fp32" };
        // Every registered method's own flags, as the registry states them.
        var methodFlags = PeftMethods.All.Select(m => (Method: m, Flags: m.Flags.Select(f => (Flag: f, Option: FlagOption(f))).ToList())).ToList();
        var styled = new Option<double>("--styled-replies") { Description = "With --data synthetic: the fraction (0–1) of training replies written in the house style 'Answer: X' (the style alignment then prefers).", DefaultValueFactory = _ => 0 };
        var command = new Command("sft", $"Instruction tuning (SFT): full fine-tuning or {string.Join(" / ", PeftMethods.All.Select(m => m.Title))}.")
        {
            baseDir, data, format, method, output, maxIters, batch, lr, evalInterval, evalLimit, seed, threads, precision,
        };
        foreach (var (_, flags) in methodFlags)
            foreach (var (_, option) in flags) command.Options.Add(option);
        command.Options.Add(styled);
        command.SetAction(parse =>
        {
            string m = parse.GetValue(method)!;
            if (parse.GetValue(styled) is < 0 or > 1) throw new InvalidInputException("--styled-replies: must be a fraction in [0, 1]");
            var options = new SftRunOptions
            {
                Base = parse.GetValue(baseDir)!, Data = parse.GetValue(data)!, Format = parse.GetValue(format)!, Method = m,
                Training = new SftOptions
                {
                    MaxIters = parse.GetValue(maxIters), BatchSize = parse.GetValue(batch), LearningRate = parse.GetValue(lr) ?? DefaultLearningRate(m),
                    MinLr = (parse.GetValue(lr) ?? DefaultLearningRate(m)) / 10, EvalInterval = parse.GetValue(evalInterval),
                    Seed = parse.GetValue(seed), Threads = parse.GetValue(threads), Precision = parse.GetValue(precision)!,
                }.Validate(),
                EvalLimit = parse.GetValue(evalLimit),
                Suite = parse.GetValue(styled) > 0 ? new SharpLM.Adaptation.Formatting.SyntheticSuiteOptions { StyledReplies = parse.GetValue(styled) } : null,
            };
            foreach (var (registration, flags) in methodFlags)
            {
                object methodOptions = registration.DefaultOptions;
                foreach (var (flag, option) in flags) methodOptions = flag.Set(methodOptions, FlagValue(parse, option));
                options = registration.WithOptions(options, methodOptions, registration.FlagSource);
            }
            return Execute(options, parse.GetValue(output)!);
        });
        return command;
    }

    /// <summary>
    /// `sharplm sft-child --options-file F --out D`, hidden: the run <see cref="ChildProcessSft"/> starts, with every
    /// option read from the file its parent wrote (<see cref="SftRunOptions.Write"/>), so the child runs exactly
    /// what the parent would have run in process.
    /// </summary>
    public static Command CreateChild()
    {
        var file = new Option<string>("--options-file") { Description = "SftRunOptions as JSON.", Required = true };
        var output = new Option<string>("--out") { Description = "Output directory.", Required = true };
        var command = new Command("sft-child", "Runs `sft` from an options file (used by `experiment peft`).") { Hidden = true };
        command.Options.Add(file);
        command.Options.Add(output);
        command.SetAction(parse => Execute(SftRunOptions.Read(parse.GetValue(file)!), parse.GetValue(output)!));
        return command;
    }

    /// <summary>A typed option for <paramref name="flag"/>: its default's type decides int, double or string.</summary>
    static Option FlagOption(PeftFlag flag) => flag.DefaultValue switch
    {
        int i => new Option<int>(flag.Name) { Description = flag.Description, DefaultValueFactory = _ => i },
        double d => new Option<double>(flag.Name) { Description = flag.Description, DefaultValueFactory = _ => d },
        string s => new Option<string>(flag.Name) { Description = flag.Description, DefaultValueFactory = _ => s },
        _ => throw new InvalidOperationException($"{flag.Name}: flags of type {flag.DefaultValue.GetType().Name} are not supported"),
    };

    /// <summary>The parsed value of an option <see cref="FlagOption"/> built.</summary>
    static object FlagValue(ParseResult parse, Option option) => option switch
    {
        Option<int> i => parse.GetValue(i),
        Option<double> d => parse.GetValue(d),
        Option<string> s => parse.GetValue(s)!,
        _ => throw new InvalidOperationException($"{option.Name}: not a flag option"),
    };

    /// <summary>"a, b or c".</summary>
    static string Enumerate(IReadOnlyList<string> items) => items.Count < 2 ? string.Join("", items) : $"{string.Join(", ", items.Take(items.Count - 1))} or {items[^1]}";

    /// <summary>Runs <paramref name="options"/> into <paramref name="outDir"/>, printing progress and the summary table.</summary>
    static int Execute(SftRunOptions options, string outDir)
    {
        var c = CultureInfo.InvariantCulture;
        DateTime last = DateTime.MinValue;
        bool root = (SharpLM.Distributed.Mpi.LaunchedRank ?? 0) == 0; // under mpirun rank 0 reports for the job
        var summary = SftRun.Run(options, outDir,
            onStep: s =>
            {
                if (!root || DateTime.UtcNow - last < TimeSpan.FromSeconds(5)) return;
                last = DateTime.UtcNow;
                double eta = s.MsPerIter * (options.Training.MaxIters - s.Step - 1) / 1000;
                Console.WriteLine(string.Create(c, $"step {s.Step + 1}/{options.Training.MaxIters}  loss {s.Loss:F4}  {s.MsPerIter:F1} ms/iter  ETA {TimeSpan.FromSeconds(eta):hh\\:mm\\:ss}"));
            },
            onEval: e => { if (root) Console.WriteLine(string.Create(c, $"eval step {e.Step}: held-out exact match {e.ExactMatch:P1}")); });
        if (!root) return 0;
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
        Console.WriteLine($"wrote {Path.Combine(outDir, SftRun.SummaryFile)}");
        return 0;
    }

    /// <summary>PEFT methods train few, freshly initialised parameters and take a larger step, as PEFT's examples do.</summary>
    public static double DefaultLearningRate(string method) => method == SftRunOptions.Full ? 1e-3 : 3e-3;
}
