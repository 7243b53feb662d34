using System.Text.Json;
using SharpLM.Evaluation.Harness;

namespace SharpLM.Tests.Evaluation.Harness;

public class ZeroShotCotTests
{
    /// <summary>Reasons when it sees the trigger, answers when it sees the answer trigger (the number it reasoned to).</summary>
    static GeneratingModel Reasoner() => new(r =>
        r.Context.EndsWith("step by step.", StringComparison.Ordinal) ? $" 2 + 3 is {(r.Seed % 2 == 0 ? 5 : 6)}."
        : r.Context.EndsWith("the answer is", StringComparison.Ordinal) ? " " + System.Text.RegularExpressions.Regex.Match(r.Context, @"is (\d+)\.").Groups[1].Value
        : " 7");

    static TaskConfig QaTask(TempDirectory dir, string extra, double temperature = 0, string filters = "[{ regex: \"-?[0-9]+\" }]")
    {
        File.WriteAllLines(dir.File("qa.jsonl"), ["""{"q": "What is 2 + 3?", "a": "5"}"""]);
        string path = dir.File("cot.yaml");
        File.WriteAllText(path, $"task: cot\noutput_type: generate_until\ndataset: {{ path: {dir.File("qa.jsonl")} }}\ndoc_to_text: \"Q: {{{{q}}}}\\nA:\"\ndoc_to_target: \"{{{{a}}}}\"\n"
            + $"generation: {{ until: [\"Q:\"], max_tokens: 64, temperature: {temperature.ToString(System.Globalization.CultureInfo.InvariantCulture)} }}\n"
            + $"filters: {filters}\nmetrics: [exact_match]\n" + extra);
        return TaskConfig.Load(path);
    }

    const string Cot = "cot: { trigger: \"Let's think step by step.\", answer_trigger: \"Therefore, the answer is\" }\n";

    [Fact]
    public async Task The_trigger_starts_the_reasoning_and_the_answer_trigger_draws_the_answer_the_filters_read()
    {
        using var dir = new TempDirectory();
        var model = Reasoner();
        var result = (await EvaluationRun.RunAsync(model, [QaTask(dir, Cot)], new EvaluationOptions { AllowAnyPath = true }, dir.Path))[0];
        Assert.Equal(1.0, result.Metrics["exact_match"]);
        Assert.Equal(2, model.Seen.Count);
        Assert.Equal("Q: What is 2 + 3?\nA: Let's think step by step.", model.Seen[0].Context);
        Assert.Equal("Q: What is 2 + 3?\nA: Let's think step by step. 2 + 3 is 5.\nTherefore, the answer is", model.Seen[1].Context);
        Assert.Equal(0, model.Seen[1].Temperature); // the answer stage is greedy
        Assert.Equal(["\n"], model.Seen[1].Stop);
        var sample = JsonDocument.Parse(File.ReadLines(dir.File("samples.jsonl")).Single()).RootElement;
        Assert.Equal(" 2 + 3 is 5.\nTherefore, the answer is 5", sample.GetProperty("outputs")[0].GetString());
        Assert.Equal("5", sample.GetProperty("extracted")[0].GetString());

        // Asked directly, the same model blurts "7".
        var direct = (await EvaluationRun.RunAsync(Reasoner(), [QaTask(dir, "")], new EvaluationOptions { AllowAnyPath = true }, dir.Path))[0];
        Assert.Equal(0.0, direct.Metrics["exact_match"]);
    }

    [Fact]
    public async Task With_repeats_each_reasoning_path_is_answered_then_the_answers_vote()
    {
        using var dir = new TempDirectory();
        var model = Reasoner(); // even seeds reason to 5, odd seeds to 6: seeds 1235..1239 give 6, 5, 6, 5, 6
        var task = QaTask(dir, Cot.Replace("}\n", ", answer_max_tokens: 8 }\n") + "repeats: 5\n", temperature: 1, filters: "[{ regex: \"-?[0-9]+\" }, { majority_vote: true }]");
        var result = (await EvaluationRun.RunAsync(model, [task], new EvaluationOptions { AllowAnyPath = true, Seed = 1235 }, dir.Path))[0];
        Assert.Equal(10, model.Seen.Count);
        Assert.All(model.Seen.Take(5), r => Assert.Equal(1.0, r.Temperature));
        Assert.All(model.Seen.Skip(5), r => Assert.Equal(8, r.MaxTokens));
        var sample = JsonDocument.Parse(File.ReadLines(dir.File("samples.jsonl")).Single()).RootElement;
        Assert.Equal(["6", "5", "6", "5", "6"], sample.GetProperty("extracted").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("6", sample.GetProperty("answer").GetString());
        Assert.Equal(0.0, result.Metrics["exact_match"]); // the majority reasoned wrongly here
    }

    [Theory]
    [InlineData("cot: { answer_trigger: \"So\" }", "cot.trigger: required")]
    [InlineData("cot: { trigger: \"Think.\" }", "cot.answer_trigger: required")]
    [InlineData("cot: { trigger: \"Think.\", answer_trigger: \"So\", answer_max_tokens: 0 }", "cot.answer_max_tokens: must be at least 1")]
    public void Incomplete_cot_blocks_are_refused_naming_the_field(string cot, string message)
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<InvalidInputException>(() => QaTask(dir, cot + "\n"));
        Assert.Contains(message, e.Message);
        Assert.Contains("cot.yaml", e.Message);
    }
}
