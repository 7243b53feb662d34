using System.Text.Json;
using SharpLM.Evaluation.Harness;
using SharpLM.Evaluation.Models;
using SharpLM.Modeling;
using SharpLM.Tests.Cli;
using SharpLM.Tokenization;
using TorchSharp;

namespace SharpLM.Tests.Evaluation.Harness;

public class EvaluationRunTests
{
    /// <summary>Answers every HumanEval prompt with its canonical solution (or nothing): pass@1 must then be exactly 1 (or 0).</summary>
    sealed class CannedModel(Dictionary<string, string> answers) : IEvaluationModel
    {
        public string Name => "canned";
        public Task<IReadOnlyList<LoglikelihoodResult>> LoglikelihoodAsync(IReadOnlyList<LoglikelihoodRequest> r, CancellationToken c = default) => throw new ModelCapabilityException("generation only");
        public Task<IReadOnlyList<RollingLoglikelihoodResult>> LoglikelihoodRollingAsync(IReadOnlyList<string> t, CancellationToken c = default) => throw new ModelCapabilityException("generation only");
        public Task<IReadOnlyList<string>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken c = default) =>
            Task.FromResult<IReadOnlyList<string>>(requests.Select(r => answers.GetValueOrDefault(r.Context, "")).ToArray());
    }

    [DataFact("humaneval")]
    public async Task HumanEval_through_the_harness_scores_canonical_solutions_1_and_empty_completions_0()
    {
        var task = TaskConfig.Resolve("humaneval");
        var docs = TaskDataset.Load(task).Documents.Take(12).ToList();
        var canonical = docs.ToDictionary(d => d.GetProperty("prompt").GetString()!, d => d.GetProperty("canonical_solution").GetString()!);
        var runner = await SandboxedCodeRunner.CreateAsync(new() { AllowWeakIsolation = true });
        Assert.Null(runner.Unavailable);
        var options = new EvaluationOptions { Limit = 12, CodeRunner = runner, };
        using var dir = new TempDirectory();
        var right = (await EvaluationRun.RunAsync(new CannedModel(canonical), [task], options, dir.Path))[0];
        Assert.Equal(1.0, right.Metrics["pass@1"]);
        var empty = (await EvaluationRun.RunAsync(new CannedModel([]), [task], options, dir.Path))[0];
        Assert.Equal(0.0, empty.Metrics["pass@1"]);
        Assert.Equal(12, File.ReadLines(dir.File("samples.jsonl")).Count());
    }

    [DataFact("tinyshakespeare", "arc-easy", "gsm8k")]
    public async Task A_checkpoint_is_scored_on_choice_generation_and_perplexity_tasks_with_standard_errors_and_samples()
    {
        var tokenizer = CharTokenizer.FromText(File.ReadAllText(TestData.Path("tinyshakespeare/input.txt")));
        torch.manual_seed(5);
        var model = new CheckpointModel(new Gpt(TinyRuns.Model(tokenizer.VocabSize) with { BlockSize = 32 }), tokenizer, torch.CPU, "tiny", batchSize: 8);
        using var dir = new TempDirectory();
        var tasks = new[] { "arc_easy", "gsm8k", "tinyshakespeare" }.Select(TaskConfig.Resolve).ToList();
        var results = await EvaluationRun.RunAsync(model, tasks, new EvaluationOptions { Limit = 20, }, dir.Path);
        var arc = results[0];
        Assert.Equal(20, arc.Documents);
        Assert.InRange(arc.Metrics["acc"], 0, 1);
        Assert.True(arc.Stderr["acc"] > 0);
        Assert.Equal(5, results[1].NumFewshot);
        Assert.Equal(0.0, results[1].Metrics["exact_match"]); // a character model that has never seen a digit
        Assert.InRange(results[2].Metrics["byte_perplexity"], 1, tokenizer.VocabSize * 2);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("results.json")));
        Assert.Equal(3, json.RootElement.GetProperty("results").GetArrayLength());
        Assert.StartsWith("sha256:", json.RootElement.GetProperty("results")[0].GetProperty("data_hash").GetString());
        var sample = JsonDocument.Parse(File.ReadLines(dir.File("samples.jsonl")).First(l => l.Contains("\"gsm8k\""))).RootElement;
        foreach (string key in new[] { "prompt", "target", "outputs", "extracted", "scores" }) Assert.True(sample.TryGetProperty(key, out _), key);
        Assert.Contains("| arc_easy | 20 | 0 | acc |", File.ReadAllText(dir.File("results.md")));
    }

    [Fact]
    public void Command_line_scores_files_and_runs_tasks()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("hyp.txt"), ["the cat sat on the mat", "a dog runs"]);
        File.WriteAllLines(dir.File("ref.txt"), ["the cat sat on the mat", "a dog runs fast"]);
        var bleu = CliProcess.Run("eval", "bleu", "--hyp", dir.File("hyp.txt"), "--ref", dir.File("ref.txt"));
        Assert.True(bleu.ExitCode == 0, bleu.Stderr);
        Assert.Contains("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp", bleu.Stdout);
        var rouge = CliProcess.Run("eval", "rouge", "--hyp", dir.File("hyp.txt"), "--ref", dir.File("ref.txt"));
        Assert.True(rouge.ExitCode == 0, rouge.Stderr);
        Assert.Contains("\"rougeLsum\"", rouge.Stdout);
        File.WriteAllLines(dir.File("short.txt"), ["one line"]);
        var mismatch = CliProcess.Run("eval", "chrf", "--hyp", dir.File("hyp.txt"), "--ref", dir.File("short.txt"));
        Assert.NotEqual(0, mismatch.ExitCode);
        Assert.Contains("short.txt", mismatch.Stderr);

        var unknown = CliProcess.Run("eval", "run", "--tasks", "arc_eazy", "--model", "checkpoint:nowhere", "--out", dir.File("e"));
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("unknown task 'arc_eazy'", unknown.Stderr);
    }
}
