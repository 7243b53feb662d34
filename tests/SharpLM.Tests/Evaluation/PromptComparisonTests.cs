using SharpLM.Evaluation;
using SharpLM.Tests.Evaluation.Harness;
using SharpLM.Tests.Adaptation.InstructionTuning;
using SharpLM.Tests.Cli;
using SharpLM.Utilization.Prompting;

namespace SharpLM.Tests.Evaluation;

public class PromptComparisonTests
{
    [Fact]
    public void The_paired_bootstrap_interval_holds_the_difference_and_tightens_when_the_prompts_agree_on_most_rows()
    {
        double[] same = [1, 0, 1, 1, 0];
        Assert.Equal((0.0, 0.0, 0.0), PromptComparison.PairedBootstrap(same, same));
        Assert.Equal((1.0, 1.0, 1.0), PromptComparison.PairedBootstrap([0, 0, 0], [1, 1, 1]));

        // B fixes 12 of 100 rows and breaks 2: both right or wrong together elsewhere. Pairing sees a clear gain.
        var a = Enumerable.Range(0, 100).Select(i => i < 12 ? 0.0 : i < 14 ? 1.0 : i % 2).ToArray();
        var b = Enumerable.Range(0, 100).Select(i => i < 12 ? 1.0 : i < 14 ? 0.0 : i % 2).ToArray();
        var (diff, low, high) = PromptComparison.PairedBootstrap(a, b, resamples: 2000, seed: 7);
        Assert.Equal(0.10, diff, 12);
        Assert.InRange(diff, low, high);
        Assert.True(low > 0, $"interval [{low}, {high}] should exclude 0");
        Assert.Equal((diff, low, high), PromptComparison.PairedBootstrap(a, b, resamples: 2000, seed: 7));
        Assert.Throws<ArgumentException>(() => PromptComparison.PairedBootstrap([1.0], [1.0, 0.0]));
    }

    // Answers "Paris" when the prompt asks for a capital city of France, else "dunno".
    static GeneratingModel Parrot() => new(r => r.Context.Contains("capital city") && r.Context.EndsWith("France?") ? " Paris\nmore" : " dunno");

    [Fact]
    public async Task Two_prompts_on_the_same_rows_get_scores_answers_and_a_verdict()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("a.yaml"), "output_format: One word.\ninput: \"{{country}}?\"\n");
        File.WriteAllText(dir.File("b.yaml"), "description: Name the capital city.\noutput_format: One word.\ninput: \"{{country}}?\"\n");
        File.WriteAllLines(dir.File("dev.jsonl"), Enumerable.Repeat("""{"country": "France", "answer": "Paris"}""", 30).Append("""{"country": "Peru", "answer": "Lima"}"""));
        var result = await PromptComparison.RunAsync(Parrot(), PromptFile.Load(dir.File("a.yaml")), PromptFile.Load(dir.File("b.yaml")), dir.File("dev.jsonl"), "answer");
        Assert.Equal(0.0, result.A.Accuracy);
        Assert.Equal(30.0 / 31, result.B.Accuracy, 12);
        Assert.Equal("Paris", result.B.Answers[0]); // the first line of the generation
        Assert.Equal("B better", result.Verdict);
        Assert.True(result.Low > 0);

        File.AppendAllText(dir.File("dev.jsonl"), "{\"country\": \"Chad\"}\n");
        var e = await Assert.ThrowsAsync<InvalidInputException>(() => PromptComparison.RunAsync(Parrot(), PromptFile.Load(dir.File("a.yaml")), PromptFile.Load(dir.File("b.yaml")), dir.File("dev.jsonl"), "answer"));
        Assert.Equal($"{dir.File("dev.jsonl")}:32: no 'answer' field (the gold answer)", e.Message);
    }

    [Fact]
    public void Prompt_ab_runs_a_checkpoint_on_the_command_line()
    {
        using var dir = new TempDirectory();
        string baseDir = SftRunTests.SaveBase(dir);
        File.WriteAllText(dir.File("a.yaml"), "output_format: One word.\ninput: \"the {{x}}\"\n");
        File.WriteAllText(dir.File("b.yaml"), "description: Continue.\noutput_format: One word.\ninput: \"the {{x}}\"\n");
        File.WriteAllLines(dir.File("dev.jsonl"), ["""{"x": "quick", "answer": "brown"}""", """{"x": "lazy", "answer": "dog"}"""]);
        var run = CliProcess.Run("prompt", "ab", "--a", dir.File("a.yaml"), "--b", dir.File("b.yaml"), "--data", dir.File("dev.jsonl"),
            "--model", "checkpoint:" + baseDir, "--max-tokens", "4", "--out", dir.File("ab.json"));
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("on 2 rows", run.Stdout);
        Assert.Contains("paired resamples", run.Stdout);
        Assert.True(File.Exists(dir.File("ab.json")));
    }
}
