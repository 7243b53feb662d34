using System.CommandLine;
using SharpLM.Data;
using SharpLM.Experiments;
using SharpLM.Experiments.Scaling;
using SharpLM.Experiments.Utilization;
using SharpLM.Training;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm experiment lm-generations|architectures|peft|alignment|utilization|scaling`: the survey's comparisons as one command each.</summary>
public static class ExperimentCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Text corpus (a path, or 'tinyshakespeare').", DefaultValueFactory = _ => "tinyshakespeare" };
        var output = new Option<string>("--out") { Description = "Output directory (report.json, report.md, a PNG, runs/).", Required = true };
        var budget = new Option<double>("--budget-seconds") { Description = "Total wall-clock budget for all models.", DefaultValueFactory = _ => 600 };
        var seed = new Option<int>("--seed") { Description = "Seed of every run.", DefaultValueFactory = _ => 1337 };
        var perModel = new Option<string?>("--budgets") { Description = "Seconds of training per model, comma-separated (e.g. 60,200,600): every neural model is trained once per budget and the report gives, per corpus, the budget at which each overtakes the 5-gram. --data may then list several corpora, comma-separated. Replaces --budget-seconds." };
        var generations = new Command("lm-generations", "n-gram (orders 3, 5) vs LSTM vs GRU vs Transformer at one wall-clock budget on a character-level split, or with --budgets at several per-model budgets: where each neural model overtakes the 5-gram.")
        {
            data, output, budget, perModel, seed,
        };
        generations.SetAction(parse =>
        {
            if (parse.GetValue(perModel) is string list)
            {
                var sweep = new LmGenerationsBudgets
                {
                    Corpora = NamedCorpora(parse.GetValue(data)!), OutDir = parse.GetValue(output)!, BudgetSeconds = ParseBudgets(list),
                    Seed = parse.GetValue(seed), ObserverFor = _ => new ConsoleTrainingObserver(), Log = Console.Error.WriteLine,
                };
                sweep.Run();
                Console.WriteLine(File.ReadAllText(Path.Combine(sweep.OutDir, ComparisonReport.MarkdownFile)));
                Console.Error.WriteLine($"wrote {Path.Combine(sweep.OutDir, ComparisonReport.JsonFile)}, {ComparisonReport.MarkdownFile}, CORPUS/{LmGenerationsBudgets.PlotFile}");
                return 0;
            }
            var experiment = new LmGenerationsExperiment
            {
                Data = Corpora.Resolve(parse.GetValue(data)!, Console.Error.WriteLine), OutDir = parse.GetValue(output)!,
                BudgetSeconds = parse.GetValue(budget), Seed = parse.GetValue(seed),
                ObserverFor = _ => new ConsoleTrainingObserver(), Log = Console.Error.WriteLine,
            };
            experiment.Run();
            Console.WriteLine(File.ReadAllText(Path.Combine(experiment.OutDir, ComparisonReport.MarkdownFile)));
            Console.Error.WriteLine($"wrote {Path.Combine(experiment.OutDir, ComparisonReport.JsonFile)}, {ComparisonReport.MarkdownFile}, {LmGenerationsExperiment.PlotFile}");
            return 0;
        });

        var steps = new Option<int>("--steps") { Description = "Training steps of every model.", DefaultValueFactory = _ => 300 };
        var architectures = new Command("architectures", "Causal decoder vs prefix decoder vs encoder-decoder, and a norm × activation × position grid, at equal steps.")
        {
            data, output, steps, seed,
        };
        architectures.SetAction(parse =>
        {
            var experiment = new ArchitecturesExperiment
            {
                Data = Corpora.Resolve(parse.GetValue(data)!, Console.Error.WriteLine), OutDir = parse.GetValue(output)!,
                Steps = parse.GetValue(steps), Seed = parse.GetValue(seed), Log = Console.Error.WriteLine,
            };
            experiment.Run();
            Console.WriteLine(File.ReadAllText(Path.Combine(experiment.OutDir, ComparisonReport.MarkdownFile)));
            Console.Error.WriteLine($"wrote {Path.Combine(experiment.OutDir, ComparisonReport.JsonFile)}, {ComparisonReport.MarkdownFile}, {ArchitecturesExperiment.ArchitecturesPlot}, {ArchitecturesExperiment.ComponentsPlot}");
            return 0;
        });
        var baseDir = new Option<string>("--base") { Description = "Base checkpoint (its tokenizer needs the chat tokens and the suite's characters: pretrain with --tokenizer char-chat).", Required = true };
        var peftSteps = new Option<int>("--steps") { Description = "Training steps of every method.", DefaultValueFactory = _ => 800 };
        var evalLimit = new Option<int>("--eval-limit") { Description = "Held-out prompts scored (0 = all).", DefaultValueFactory = _ => 180 };
        var peft = new Command("peft", "Full fine-tuning vs LoRA, adapters, prefix and prompt tuning on the synthetic instruction suite (one process per method).")
        {
            baseDir, output, peftSteps, evalLimit, seed,
        };
        peft.SetAction(parse =>
        {
            var experiment = new PeftExperiment
            {
                Base = parse.GetValue(baseDir)!, OutDir = parse.GetValue(output)!, Steps = parse.GetValue(peftSteps),
                EvalLimit = parse.GetValue(evalLimit), Seed = parse.GetValue(seed), Runner = ChildProcessSft.Run, Log = Console.Error.WriteLine,
            };
            experiment.Run();
            Console.WriteLine(File.ReadAllText(Path.Combine(experiment.OutDir, ComparisonReport.MarkdownFile)));
            Console.Error.WriteLine($"wrote {Path.Combine(experiment.OutDir, ComparisonReport.JsonFile)}, {ComparisonReport.MarkdownFile}");
            return 0;
        });
        var sft = new Option<string>("--sft") { Description = "Instruction-tuned checkpoint (sharplm sft ... --styled-replies 0.3) every method starts from.", Required = true };
        var rmSteps = new Option<int>("--rm-steps") { Description = "Reward-model steps (16 pairs each).", DefaultValueFactory = _ => AlignmentExperiment.DefaultRewardModelSteps };
        var dpoSteps = new Option<int>("--dpo-steps") { Description = "DPO steps (16 pairs each).", DefaultValueFactory = _ => AlignmentExperiment.DefaultDpoSteps };
        var ppoSteps = new Option<int>("--ppo-steps") { Description = "PPO steps (16 prompts × 2 replies each).", DefaultValueFactory = _ => AlignmentExperiment.DefaultPpoSteps };
        var grpoSteps = new Option<int>("--grpo-steps") { Description = "GRPO steps (8 prompts × 8 replies each).", DefaultValueFactory = _ => AlignmentExperiment.DefaultGrpoSteps };
        var alignLimit = new Option<int>("--eval-limit") { Description = "Held-out prompts scored (0 = all).", DefaultValueFactory = _ => 0 };
        var alignment = new Command("alignment", "SFT vs best-of-n vs DPO vs PPO vs GRPO from one SFT model: held-out exact match, house-style rate, RM win rate, KL.")
        {
            sft, output, rmSteps, dpoSteps, ppoSteps, grpoSteps, alignLimit, seed,
        };
        alignment.SetAction(parse =>
        {
            var progress = new Dictionary<string, Action<SharpLM.Adaptation.Alignment.AlignmentStep>>();
            var experiment = new AlignmentExperiment
            {
                Sft = parse.GetValue(sft)!, OutDir = parse.GetValue(output)!, RewardModelSteps = parse.GetValue(rmSteps), DpoSteps = parse.GetValue(dpoSteps),
                PpoSteps = parse.GetValue(ppoSteps), GrpoSteps = parse.GetValue(grpoSteps), EvalLimit = parse.GetValue(alignLimit), Seed = parse.GetValue(seed),
                Log = Console.Error.WriteLine,
                OnStep = (run, step) =>
                {
                    if (!progress.TryGetValue(run, out var print)) progress[run] = print = AlignCommand.Progress($"{run}: ");
                    print(step);
                },
            };
            experiment.Run();
            Console.WriteLine(File.ReadAllText(Path.Combine(experiment.OutDir, ComparisonReport.MarkdownFile)));
            Console.Error.WriteLine($"wrote {Path.Combine(experiment.OutDir, ComparisonReport.JsonFile)}, {ComparisonReport.MarkdownFile}, rules.png");
            return 0;
        });
        var only = new Option<string>("--only") { Description = $"Comma-separated parts to run: {string.Join(", ", UtilizationExperiment.Parts)}.", DefaultValueFactory = _ => string.Join(",", UtilizationExperiment.Parts) };
        var stepScale = new Option<double>("--step-scale") { Description = "Multiply every part's training steps (1 = the README's figures).", DefaultValueFactory = _ => 1 };
        var testItems = new Option<int>("--test-items") { Description = "Held-out test items per condition.", DefaultValueFactory = _ => 200 };
        var scItems = new Option<int>("--sc-items") { Description = "Problems sampled 16 times for self-consistency.", DefaultValueFactory = _ => 100 };
        var utilization = new Command("utilization", "ICL on new functions (k = 0…8, demonstration selection), CoT vs direct, self-consistency, a calculator tool, retrieval vs closed-book: one small model per claim.")
        {
            output, only, stepScale, testItems, scItems, seed,
        };
        utilization.SetAction(parse =>
        {
            var experiment = new UtilizationExperiment
            {
                OutDir = parse.GetValue(output)!, Seed = parse.GetValue(seed), StepScale = parse.GetValue(stepScale), TestItems = parse.GetValue(testItems),
                SelfConsistencyItems = parse.GetValue(scItems),
                Only = parse.GetValue(only)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                ObserverFor = _ => new ConsoleTrainingObserver(), Log = Console.Error.WriteLine,
            };
            var report = experiment.Run();
            Console.WriteLine(File.ReadAllText(Path.Combine(experiment.OutDir, ComparisonReport.MarkdownFile)));
            Console.Error.WriteLine($"wrote {Path.Combine(experiment.OutDir, ComparisonReport.JsonFile)}, {ComparisonReport.MarkdownFile}, {UtilizationExperiment.IclPlot}, {UtilizationExperiment.SelfConsistencyPlot}, {UtilizationExperiment.ClaimsPlot}");
            return 0;
        });
        var scaling = Scaling(data, seed);
        return new Command("experiment", "Reproducible comparisons from the survey.") { generations, architectures, peft, alignment, utilization, scaling };
    }

    /// <summary>
    /// `experiment scaling`: a grid of widths × token budgets sized to --minutes, Kaplan's and Chinchilla's fits, and the
    /// fit's compute-optimal model for 4× the largest run's compute trained and measured. --quick is a seconds-long smoke
    /// run of the same pipeline (three tiny widths, two budgets of a few steps), not a law.
    /// </summary>
    static Command Scaling(Option<string> data, Option<int> seed)
    {
        var output = new Option<string>("--out") { Description = "Output directory (results.json, results.md, PNGs, plan.json, runs/); a re-run resumes it.", Required = true };
        var minutes = new Option<double>("--minutes") { Description = "Wall-clock budget of the whole experiment; the token budgets are derived from it.", DefaultValueFactory = _ => 30 };
        var widths = new Option<string>("--widths") { Description = "Model widths (n_embd) of the grid, comma-separated; multiples of the preset's n_head.", DefaultValueFactory = _ => string.Join(",", ScalingExperiment.DefaultWidths) };
        var budgets = new Option<int>("--budgets") { Description = "Token budgets per width (a geometric series).", DefaultValueFactory = _ => 3 };
        var ratio = new Option<double>("--budget-ratio") { Description = "Ratio between successive token budgets.", DefaultValueFactory = _ => 2 };
        var quick = new Option<bool>("--quick") { Description = "Smoke run in seconds: widths 8,12,16, budgets of 20 and 60 steps, context 32 (checks the pipeline; not a law)." };
        var command = new Command("scaling", "Scaling laws: widths × token budgets on a character-level corpus, Kaplan L(N) and Chinchilla L(N,D) fits with R², and the fit's compute-optimal model at 4× compute trained against its prediction.")
        {
            data, output, minutes, widths, budgets, ratio, quick, seed,
        };
        command.SetAction(parse =>
        {
            bool isQuick = parse.GetValue(quick);
            var preset = PretrainConfig.Preset("shakespeare-char");
            var experiment = new ScalingExperiment
            {
                Data = Corpora.Resolve(parse.GetValue(data)!, Console.Error.WriteLine), OutDir = parse.GetValue(output)!,
                Minutes = parse.GetValue(minutes), Seed = parse.GetValue(seed), Budgets = parse.GetValue(budgets), BudgetRatio = parse.GetValue(ratio),
                Widths = isQuick ? new[] { 8, 12, 16 } : ParseWidths(parse.GetValue(widths)!),
                BudgetSteps = isQuick ? new[] { 20, 60 } : null,
                Baseline = isQuick ? preset with { Model = preset.Model with { BlockSize = 32 }, Training = preset.Training with { BatchSize = 8 } } : null,
                EvalTokens = isQuick ? 2048 : 65_536, CalibrationSteps = isQuick ? 12 : 30,
                ObserverFor = _ => new ConsoleTrainingObserver(), Log = Console.Error.WriteLine,
            };
            experiment.Run();
            Console.WriteLine(File.ReadAllText(Path.Combine(experiment.OutDir, ScalingExperiment.ResultsMarkdown)));
            Console.Error.WriteLine($"wrote {Path.Combine(experiment.OutDir, ScalingExperiment.ResultsJson)}, {ScalingExperiment.ResultsMarkdown}, {ScalingExperiment.LossVsParametersPlot}, {ScalingExperiment.FrontierPlot}, {ScalingExperiment.IsoFlopPlot}");
            return 0;
        });
        return command;
    }

    /// <summary>--data as a comma-separated list of corpora, each resolved like a single one and named by the data set
    /// name or the file name without its extension.</summary>
    static IReadOnlyList<NamedCorpus> NamedCorpora(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(spec =>
            {
                string path = Corpora.Resolve(spec, Console.Error.WriteLine);
                return new NamedCorpus(path == spec ? Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(spec)) : spec, path);
            }).ToList();

    static IReadOnlyList<double> ParseBudgets(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => double.TryParse(part, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double b)
                ? b : throw new InvalidInputException($"--budgets: '{part}' is not a number of seconds")).ToList();

    static IReadOnlyList<int> ParseWidths(string text)
    {
        var widths = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            widths.Add(int.TryParse(part, out int w) ? w : throw new InvalidInputException($"--widths: '{part}' is not a whole number"));
        return widths;
    }
}
