using System.Text.Json;
using SharpLM.Evaluation.Harness;
using SharpLM.Evaluation.Models;
using SharpLM.Server;
using SharpLM.Tests.Server;
using TorchSharp;

namespace SharpLM.Tests.Evaluation.Harness;

public class SelfConsistencyTests
{
    static readonly FilterSpec Strip = new() { Strip = true }, Vote = new() { MajorityVote = true }, Lower = new() { Lowercase = true };

    [Fact]
    public void The_vote_keeps_the_most_common_answer_and_a_tie_goes_to_the_first_given()
    {
        var (each, answer) = AnswerExtraction.ApplyAll([new() { Regex = "= (\\d+)" }, Vote], ["x = 4", "x = 5", "so = 5", "nothing"]);
        Assert.Equal(["4", "5", "5", AnswerExtraction.Invalid], each);
        Assert.Equal("5", answer);
        Assert.Equal("b", AnswerExtraction.ApplyAll([Strip, Vote], [" b", "a ", "a", "b"]).Answer);
        // As lm-eval, "[invalid]" is an answer like any other and can win.
        Assert.Equal(AnswerExtraction.Invalid, AnswerExtraction.ApplyAll([new() { Regex = "\\d" }, Vote], ["?", "!", "7"]).Answer);
        // Steps after the vote apply to the winner only; without a vote the first generation is scored.
        Assert.Equal("yes", AnswerExtraction.ApplyAll([Strip, Vote, Lower], ["YES", "no", " YES"]).Answer);
        Assert.Equal("no", AnswerExtraction.ApplyAll([Strip, Lower], ["NO", "yes", "yes"]).Answer);
    }

    [Theory]
    [InlineData("repeats: 0", "repeats: must be at least 1")]
    [InlineData("repeats: 4", "4 greedy generations are one generation 4 times")]
    [InlineData("repeats: 4\ngeneration: { temperature: 0.7 }\nfilters: [{ majority_vote: true, strip: true }]", "filters[0]: a majority_vote step does nothing else")]
    [InlineData("repeats: 4\ngeneration: { temperature: 0.7 }\nfilters: [{ majority_vote: true }, { majority_vote: true }]", "filters: at most one majority_vote step")]
    public void Task_files_that_repeat_or_vote_wrongly_are_refused_naming_the_file(string extra, string message)
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.yaml");
        File.WriteAllText(path, "task: t\noutput_type: generate_until\ndataset: { path: x.jsonl }\ndoc_to_text: \"{{q}}\"\ndoc_to_target: \"{{a}}\"\nmetrics: [exact_match]\n" + extra + "\n");
        var e = Assert.Throws<InvalidInputException>(() => TaskConfig.Load(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(message, e.Message);
    }

    static TaskConfig QaTask(TempDirectory dir, string filters, int repeats = 5)
    {
        File.WriteAllLines(dir.File("qa.jsonl"), ["""{"q": "the quick", "a": "7"}""", """{"q": "brown fox", "a": "3"}""", """{"q": "lazy dog", "a": "9"}"""]);
        string path = dir.File("sc.yaml");
        File.WriteAllText(path, $"task: sc\noutput_type: generate_until\ndataset: {{ path: {dir.File("qa.jsonl")} }}\ndoc_to_text: \"{{{{q}}}}\"\ndoc_to_target: \"{{{{a}}}}\"\n"
            + $"generation: {{ until: [\"\\n\"], max_tokens: 6, temperature: 1.0 }}\nrepeats: {repeats}\nfilters: {filters}\nmetrics: [exact_match]\n");
        return TaskConfig.Load(path);
    }

    [Fact]
    public async Task Each_repeat_samples_with_its_own_seed_and_the_majority_answer_is_scored()
    {
        using var dir = new TempDirectory();
        // Repeat s answers "7" for s in {1, 3, 4}: wrong on the first sample, right by majority (maj@5) on the first document.
        var model = new GeneratingModel(r => (r.Seed - 1234) is 1 or 3 or 4 ? " 7" : " 2");
        var options = new EvaluationOptions { AllowAnyPath = true };
        var voted = (await EvaluationRun.RunAsync(model, [QaTask(dir, "[{ strip: true }, { majority_vote: true }]")], options, dir.Path))[0];
        Assert.Equal(15, model.Seen.Count);
        Assert.Equal(Enumerable.Range(0, 3).SelectMany(_ => Enumerable.Range(0, 5).Select(s => 1234UL + (ulong)s)), model.Seen.Select(r => r.Seed));
        Assert.Equal(1.0 / 3, voted.Metrics["exact_match"], 12);
        var first = JsonDocument.Parse(File.ReadLines(dir.File("samples.jsonl")).First()).RootElement;
        Assert.Equal(5, first.GetProperty("outputs").GetArrayLength());
        Assert.Equal(["2", "7", "2", "7", "7"], first.GetProperty("extracted").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("7", first.GetProperty("answer").GetString());

        var firstOnly = (await EvaluationRun.RunAsync(new GeneratingModel(r => (r.Seed - 1234) is 1 or 3 or 4 ? " 7" : " 2"), [QaTask(dir, "[{ strip: true }]")], options, dir.Path))[0];
        Assert.Equal(0.0, firstOnly.Metrics["exact_match"]);
    }

    [Fact]
    public async Task Self_consistency_scores_the_same_over_http_from_sharplm_serve_as_from_the_checkpoint()
    {
        var served = TinyServed.Char(out var tokenizer, out var gpt);
        await using var server = await OpenAiServer.StartAsync(served, new OpenAiServerOptions { Port = 0 });
        using var remote = new OpenAiCompatibleModel(new OpenAiCompatibleOptions { BaseUrl = server.BaseUrl, Model = served.Id, RetryDelay = TimeSpan.FromMilliseconds(10) });
        var local = new CheckpointModel(gpt, tokenizer, torch.CPU, "tiny", batchSize: 4);
        using var dir = new TempDirectory();
        var task = QaTask(dir, "[{ strip: true }, { majority_vote: true }]", repeats: 6);
        var options = new EvaluationOptions { AllowAnyPath = true };
        Directory.CreateDirectory(dir.File("local"));
        Directory.CreateDirectory(dir.File("http"));
        var a = (await EvaluationRun.RunAsync(local, [task], options, dir.File("local")))[0];
        var b = (await EvaluationRun.RunAsync(remote, [task], options, dir.File("http")))[0];
        Assert.Equal(a.Metrics["exact_match"], b.Metrics["exact_match"]);
        var outputs = (string path) => File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("outputs").EnumerateArray().Select(e => e.GetString()).ToList()).ToList();
        var localOutputs = outputs(dir.File("local/samples.jsonl"));
        Assert.Equal(localOutputs, outputs(dir.File("http/samples.jsonl")));
        // Sampling at temperature 1 with six seeds gives different completions, so the vote has something to do.
        Assert.Contains(localOutputs, o => o.Distinct().Count() > 1);
    }
}
