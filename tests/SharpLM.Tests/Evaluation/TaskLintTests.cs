using System.Text.Json;
using SharpLM.Evaluation.Harness;

namespace SharpLM.Tests.Evaluation;

public class TaskLintTests
{
    // A GSM8K-style task: five shots whose targets carry the whole solution, the answer after "####".
    const string Good = """
        task: mini_math
        output_type: generate_until
        dataset: { path: docs.jsonl }
        doc_to_text: "Question: {{question}}\nAnswer:"
        doc_to_target: "{{answer|after:#### }}"
        fewshot: { num: 2, doc_to_target: "{{answer}}" }
        generation: { until: ["Question:", "\n\n"], max_tokens: 32, temperature: 0.5 }
        repeats: 3
        filters: [{ regex: "#### (-?[0-9]+)" }, { strip: true }, { majority_vote: true }]
        metrics: [exact_match]
        """;

    static readonly string[] Documents =
    [
        """{"question": "1+1?", "answer": "One and one.\nSo 2.\n#### 2"}""",
        """{"question": "2+3?", "answer": "Two and three.\n#### 5"}""",
        """{"question": "4+4?", "answer": "Four and four.\n#### 8"}""",
    ];

    static (string Path, IReadOnlyList<JsonElement> Docs) Write(TempDirectory dir, string task, string[]? docs = null)
    {
        string path = dir.File("task.yaml");
        File.WriteAllText(path, task);
        File.WriteAllLines(dir.File("docs.jsonl"), docs ?? Documents);
        return (path, (docs ?? Documents).Select(d => JsonDocument.Parse(d).RootElement.Clone()).ToList());
    }

    [Fact]
    public void A_well_made_task_has_no_findings()
    {
        using var dir = new TempDirectory();
        var (path, docs) = Write(dir, Good);
        Assert.Empty(TaskLint.Check(path, docs, contextTokens: 1000));
    }

    [Theory]
    [InlineData("doc_to_text: \"Question: {{quesiton}}\\nAnswer:\"", 4, "unbound-variable", "doc_to_text reads {{quesiton}}, which document 0 of the data set does not have")]
    [InlineData("filters: [{ regex: \"The answer is (-?[0-9]+)\" }, { strip: true }, { majority_vote: true }]", 9, "demonstration-format", "the filters extract '[invalid]' from the demonstration drawn from document 0")]
    [InlineData("generation: { until: [\"\\n\"], max_tokens: 32, temperature: 0.5 }", 7, "contradictory-constraints", "the stop sequence \"\\n\" occurs in the demonstration drawn from document 0 before the answer")]
    [InlineData("repeats: 1", 9, "contradictory-constraints", "majority_vote over one generation")]
    public void Each_seeded_mistake_in_a_task_file_is_found_on_its_line(string change, int line, string check, string message)
    {
        using var dir = new TempDirectory();
        string key = change[..change.IndexOf(':')];
        string text = string.Join("\n", Good.Split('\n').Select(l => l.StartsWith(key + ":") ? change : l));
        var (path, docs) = Write(dir, text);
        var finding = Assert.Single(TaskLint.Check(path, docs), f => f.Check == check);
        Assert.Contains(message, finding.Message);
        Assert.Equal(line, finding.Line);
        Assert.StartsWith($"{path}:{line}: {check}: ", finding.ToString());
    }

    [Fact]
    public void A_zero_shot_generation_task_that_nothing_bounds_and_a_prompt_beyond_the_window_are_found()
    {
        using var dir = new TempDirectory();
        string zeroShot = Good.Replace("fewshot: { num: 2, doc_to_target: \"{{answer}}\" }", "fewshot: { num: 0 }");
        var (path, docs) = Write(dir, zeroShot);
        Assert.Equal("no-output-format", Assert.Single(TaskLint.Check(path, docs)).Check);
        // A one-line stop after the "Answer:" cue is an output format (lm-eval's zero-shot QA tasks).
        var (bounded, _) = Write(dir, zeroShot.Replace("until: [\"Question:\", \"\\n\\n\"]", "until: [\"\\n\"]"));
        Assert.Empty(TaskLint.Check(bounded, docs));

        var (good, _) = Write(dir, Good);
        var tooLong = Assert.Single(TaskLint.Check(good, docs, contextTokens: 60));
        Assert.Equal(("too-long", 7), (tooLong.Check, tooLong.Line));
        Assert.Contains("max_tokens asks 32 more", tooLong.Message);
    }

    [DataFact("arc-easy", "bbh", "gsm8k", "humaneval", "mbpp", "multi30k", "nq-open", "piqa", "tinyshakespeare", "triviaqa")]
    public void The_shipped_task_files_have_no_findings()
    {
        var files = Directory.GetFiles(Path.Combine(TestData.RepositoryRoot, "tasks"), "*.yaml");
        Assert.NotEmpty(files);
        foreach (string file in files)
        {
            var (findings, dataProblem) = TaskLint.LintFile(file, contextTokens: 4096, countTokens: text => SharpLM.Tokenization.Gpt2Tokenizer.Instance.Encode(text).Length);
            Assert.Null(dataProblem);
            Assert.Empty(findings);
        }
    }
}
