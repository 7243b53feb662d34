using System.CommandLine;
using SharpLM.Adaptation.Formatting;
using SharpLM.Data;
using SharpLM.IO;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm data skills`: pre-training text stating the synthetic suite's facts, optionally mixed into a corpus.</summary>
public static class DataSkillsCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Output text file.", Required = true };
        var statements = new Option<int>("--statements") { Description = "Statements to write.", DefaultValueFactory = _ => new SkillCorpusOptions().Statements };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the statements.", DefaultValueFactory = _ => new SkillCorpusOptions().Seed };
        var suiteSeed = new Option<ulong>("--suite-seed") { Description = "Seed of the instruction suite whose test instances are left out (sft --data synthetic:SEED).", DefaultValueFactory = _ => new SyntheticSuiteOptions().Seed };
        var noDecontamination = new Option<bool>("--no-decontamination") { Description = "Also state instances the suite tests on." };
        var mixWith = new Option<string?>("--mix-with") { Description = "A text corpus (path, URL or 'tinyshakespeare') whose paragraphs the statements are spread between." };
        var command = new Command("skills", "Pre-training text stating the synthetic tasks' facts (spellings, letter counts, sums), decontaminated against the suite's test instances.")
        {
            output, statements, seed, suiteSeed, noDecontamination, mixWith,
        };
        command.SetAction(parse =>
        {
            var options = new SkillCorpusOptions
            {
                Statements = parse.GetValue(statements), Seed = parse.GetValue(seed),
                DecontaminateAgainst = parse.GetValue(noDecontamination) ? null : new SyntheticSuiteOptions { Seed = parse.GetValue(suiteSeed) },
            };
            var skills = SkillCorpus.Generate(options);
            string text;
            string mixed = "";
            if (parse.GetValue(mixWith) is string corpus)
            {
                string path = Corpora.Resolve(corpus, Console.Error.WriteLine);
                if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "not found");
                var paragraphs = SkillCorpus.Paragraphs(File.ReadAllText(path));
                if (paragraphs.Count == 0) throw InvalidInputException.ForFile(path, "holds no text to mix into");
                text = SkillCorpus.MixInto(paragraphs, skills);
                mixed = $", spread between {paragraphs.Count:N0} paragraphs of {path}";
            }
            else text = string.Join("\n\n", skills.Paragraphs.Select(SkillCorpus.Text)) + "\n";
            string outPath = parse.GetValue(output)!;
            AtomicFile.WriteAllText(outPath, text);
            string left = options.DecontaminateAgainst is null ? "no decontamination" : $"{skills.Decontaminated:N0} draws of test instances left out";
            Console.WriteLine($"wrote {options.Statements:N0} statements in {skills.Paragraphs.Count:N0} paragraphs{mixed} ({text.Length:N0} characters; {left}) → {outPath}");
            return 0;
        });
        return command;
    }
}
