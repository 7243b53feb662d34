using System.CommandLine;
using SharpLM.Experiments.Speedrun;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm speedrun`: the whole lifecycle in one command (the stages live in SharpLM.Experiments.Speedrun).</summary>
public static class SpeedrunCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Output directory: one folder per stage, and report/report.md + report.html.", Required = true };
        var quick = new Option<bool>("--quick") { Description = "The quick preset: the same stages at about a tenth of the steps (a couple of minutes)." };
        var config = new Option<string?>("--config") { Description = "Speedrun options as JSON (snake_case; missing fields keep the default preset's values)." };
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads (default: all cores); not part of any stage's fingerprint." };
        var command = new Command("speedrun",
            "Clean the corpus → train a BPE tokenizer → pre-train → SFT → DPO → evaluate → report card, one folder per stage. " +
            "A finished stage is skipped, so rerunning the same command after a kill resumes at the stage it was in.")
        {
            output, quick, config, threads,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            if (parse.GetValue(quick) && parse.GetValue(config) is not null) throw new InvalidInputException("--quick and --config: give one, not both");
            var options = parse.GetValue(config) is string path ? SpeedrunOptions.Load(path) : SpeedrunOptions.Preset(parse.GetValue(quick) ? "quick" : "default");
            if (parse.GetValue(threads) is int n) options = options with { Threads = n };
            string outDir = parse.GetValue(output)!;
            Console.WriteLine($"speedrun ({(parse.GetValue(config) ?? (parse.GetValue(quick) ? "quick" : "default"))}) → {outDir}: {string.Join(" → ", SpeedrunRunner.Stages.Select(s => s.Name))}");
            var runner = new SpeedrunRunner { OutDir = outDir, Options = options, Log = Console.WriteLine };
            var result = await runner.RunAsync(cancellation);
            int ran = result.Stages.Count(s => s.Status != StageStatus.Skipped);
            Console.WriteLine($"speedrun finished in {SpeedrunRunner.Duration(result.Seconds)} ({ran} stages run, {result.Stages.Count - ran} already complete)");
            Console.WriteLine($"report card: {result.ReportMarkdown} and {result.ReportHtml} (self-contained)");
            Console.WriteLine($"serve the aligned model: {ReportStage.ServeCommand(outDir)}");
            return 0;
        });
        return command;
    }
}
