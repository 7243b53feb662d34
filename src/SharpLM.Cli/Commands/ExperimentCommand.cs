using System.CommandLine;
using SharpLM.Data;
using SharpLM.Experiments;
using SharpLM.Experiments.Utilization;
using SharpLM.Training;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm experiment lm-generations|architectures|peft|alignment|utilization`: the survey's comparisons as one command each.</summary>
public static class ExperimentCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Text corpus (a path, or 'tinyshakespeare').", DefaultValueFactory = _ => "tinyshakespeare" };
        var output = new Option<string>("--out") { Description = "Output directory (report.json, report.md, a PNG, runs/).", Required = true };
        var budget = new Option<double>("--budget-seconds") { Description = "Total wall-clock budget for all models.", DefaultValueFactory = _ => 600 };
        var seed = new Option<int>("--seed") { Description = "Seed of every run.", DefaultValueFactory = _ => 1337 };
        var generations = new Command("lm-generations", "n-gram (orders 3, 5) vs LSTM vs GRU vs Transformer at one wall-clock budget on a character-level split.")
        {
            data, output, budget, seed,
        };
        generations.SetAction(parse =>
        {
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
        return new Command("experiment", "Reproducible comparisons from the survey.") { generations, architectures, peft, alignment, utilization };
    }
}
