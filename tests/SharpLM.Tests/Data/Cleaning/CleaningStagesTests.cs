using System.CommandLine;
using SharpLM.Cli.Commands;
using SharpLM.Data.Cleaning;

namespace SharpLM.Tests.Data.Cleaning;

public class CleaningStagesTests
{
    // The options a stage cannot run without, as a pipeline file gives them; the command line gives them as flags.
    static string FileOptions(string stage) => stage switch
    {
        "language" => "{ allowed: [en] }",
        "keywords" => "{ terms: [casino] }",
        "perplexity" => "{ reference: reference.txt, calibration_documents: 2 }",
        CleaningStages.Decontamination => "[eval.jsonl]",
        _ => "{}",
    };

    static TempDirectory Inputs()
    {
        var dir = new TempDirectory();
        string text = "The river runs past the old mill and the children watch the boats go by every summer evening.";
        File.WriteAllText(dir.File("in.jsonl"), string.Concat(Enumerable.Range(0, 3).Select(i => $"{{\"id\":\"d{i}\",\"text\":\"{text} Day {i}.\"}}\n")));
        File.WriteAllText(dir.File("reference.txt"), text);
        File.WriteAllText(dir.File("block.txt"), "casino\n");
        File.WriteAllText(dir.File("eval.jsonl"), "{\"question\": \"What is the capital city of the country that borders the northern sea coast today?\"}\n");
        return dir;
    }

    static string[] StageOrder(string report) =>
        System.Text.Json.JsonDocument.Parse(report).RootElement.GetProperty("stage_order").EnumerateArray().Select(e => e.GetString()!).ToArray();

    [Fact]
    public void Every_stage_name_and_alias_is_accepted_by_the_command_line_and_the_pipeline_file_alike()
    {
        using var dir = Inputs();
        foreach (var stage in CleaningStages.All)
            foreach (string spelling in stage.Spellings)
            {
                // The pipeline file, with only this stage on.
                string others = string.Join("", CleaningStages.All.Where(s => s.Kind != CleaningStageKind.Filter && s.Name != stage.Name && s.Kind != CleaningStageKind.Decontamination)
                    .Select(s => $"{s.Name}: false\n"));
                string yaml = stage.Kind == CleaningStageKind.Filter
                    ? $"input: in.jsonl\nfilters:\n  - {spelling}: {FileOptions(stage.Name)}\n{others}"
                    : $"input: in.jsonl\n{spelling}: {FileOptions(stage.Name)}\n{others}";
                File.WriteAllText(dir.File("p.yaml"), yaml);
                var fromFile = CleaningStages.Build(CleaningConfig.Load(dir.File("p.yaml")).Pipeline).Select(s => s.Name);
                Assert.Equal([stage.Name], fromFile);

                // The command line, with only this stage named: the report counts it under the registry's name.
                string report = dir.File($"{spelling}.json");
                var parsed = DataCleanCommand.Create().Parse(["--input", dir.File("in.jsonl"), "--output", dir.File("out.jsonl"), "--report", report, "--stages", spelling,
                    "--lang", "en", "--blocklist", dir.File("block.txt"), "--reference", dir.File("reference.txt"), "--decontaminate", dir.File("eval.jsonl")]);
                Assert.Empty(parsed.Errors);
                Assert.Equal(0, parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = TextWriter.Null }));
                Assert.Equal([stage.Name], StageOrder(File.ReadAllText(report)));
            }
    }

    [Fact]
    public void A_bad_stage_name_is_one_line_naming_the_option_or_the_field()
    {
        using var dir = Inputs();
        var parsed = DataCleanCommand.Create().Parse(["--input", dir.File("in.jsonl"), "--output", dir.File("out.jsonl"), "--stages", "exact_dedup,gopher_qualty"]);
        var e = Assert.Throws<InvalidInputException>(() => parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
        Assert.StartsWith("--stages: unknown stage 'gopher_qualty' (language, gopher_quality,", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        foreach (var (yaml, expected) in new[]
        {
            ("filters: [gopher_qualty]\n", "filters[0].gopher_qualty: unknown filter 'gopher_qualty'"),
            ("filters: [exact_dedup]\n", "filters[0].exact_dedup: unknown filter 'exact_dedup' ('exact_dedup' is not a filter"),
            ("dedup: { near: {} }\n", "dedup: unknown field 'near' (exact_dedup, minhash_dedup, line_dedup)"),
            ("minhash_dedup: {}\ndedup: { minhash: false }\n", "dedup.minhash: stage 'minhash_dedup' is already set by 'minhash_dedup'"),
        })
        {
            File.WriteAllText(dir.File("p.yaml"), yaml);
            var error = Assert.Throws<InvalidInputException>(() => CleaningConfig.Load(dir.File("p.yaml")));
            Assert.Equal($"{dir.File("p.yaml")}: {expected}", error.Message[..Math.Min(error.Message.Length, dir.File("p.yaml").Length + 2 + expected.Length)]);
            Assert.DoesNotContain('\n', error.Message);
        }
    }
}
