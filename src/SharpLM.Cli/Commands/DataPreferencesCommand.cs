using System.CommandLine;
using SharpLM.Adaptation.Alignment;
using SharpLM.Adaptation.Formatting;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm data preferences`: the synthetic suite's rule-checkable preference pairs as TRL JSONL.</summary>
public static class DataPreferencesCommand
{
    public static Command Create()
    {
        var defaults = new SyntheticSuiteOptions();
        var kind = new Option<string>("--kind") { Description = $"What the preference is about: {string.Join(" or ", SyntheticPreferences.Kinds)}.", DefaultValueFactory = _ => new SyntheticPreferenceOptions().Kind };
        kind.AcceptOnlyFromAmong([.. SyntheticPreferences.Kinds]);
        var seed = new Option<ulong>("--seed") { Description = "Seed of the instruction suite (sft --data synthetic:SEED) and of the pairs.", DefaultValueFactory = _ => defaults.Seed };
        var output = new Option<string>("--out") { Description = "Output directory: train.jsonl and test.jsonl.", Required = true };
        var trainPerTask = new Option<int>("--train-per-task") { Description = "Training examples per task.", DefaultValueFactory = _ => defaults.TrainPerTask };
        var testPerTask = new Option<int>("--test-per-task") { Description = "Test examples drawn per task (those whose instance is also in training are left out).", DefaultValueFactory = _ => defaults.TestPerTask };
        var command = new Command("preferences", "Preference pairs from the synthetic instruction suite whose labels a rule checks: house style (\"Answer: X\" over \"X\") or correctness (right over plausibly wrong).")
        {
            kind, seed, output, trainPerTask, testPerTask,
        };
        command.SetAction(parse =>
        {
            var options = new SyntheticPreferenceOptions
            {
                Kind = parse.GetValue(kind)!,
                Suite = new SyntheticSuiteOptions { Seed = parse.GetValue(seed), TrainPerTask = parse.GetValue(trainPerTask), TestPerTask = parse.GetValue(testPerTask) },
            };
            var (train, test) = SyntheticPreferences.Build(options);
            string directory = parse.GetValue(output)!;
            Directory.CreateDirectory(directory);
            foreach (var (name, pairs) in new[] { ("train", train), ("test", test) })
            {
                string path = Path.Combine(directory, name + ".jsonl");
                PreferenceData.Write(path, pairs);
                Console.WriteLine($"{name}: {pairs.Count:N0} {options.Kind} pairs over {pairs.Select(p => p.Task).Distinct().Count()} tasks → {path}");
            }
            return 0;
        });
        return command;
    }
}
