using System.Text.Json;
using SharpLM.Evaluation.Harness;
using SharpLM.Utilization.Prompting;

namespace SharpLM.Tests.Evaluation.Harness;

public class TaskFileTests
{
    public static TheoryData<string> BuiltIn() => new(TaskConfig.BuiltIn);

    [DataTheory("arc-easy", "bbh", "gsm8k", "humaneval", "mbpp", "multi30k", "nq-open", "piqa", "tinyshakespeare", "triviaqa")]
    [MemberData(nameof(BuiltIn))]
    public void Every_shipped_task_loads_its_data_and_builds_prompts_and_answers(string name)
    {
        var task = TaskConfig.Resolve(name);
        Assert.Equal(name, task.Task);
        var data = TaskDataset.Load(task);
        Assert.StartsWith("sha256:", data.Hash);
        var prompts = new PromptBuilder(task, data.Documents, null, 1234);
        for (int i = 0; i < Math.Min(5, data.Documents.Count); i++)
        {
            string prompt = prompts.Prompt(i);
            Assert.Contains(prompts.Question(i), prompt);
            if (task.OutputType == OutputType.MultipleChoice)
                Assert.InRange(TaskAnswers.Gold(task, data.Documents[i]), 0, TaskAnswers.Choices(task, data.Documents[i]).Count - 1);
            else if (task.OutputType == OutputType.GenerateUntil)
                Assert.All(TaskAnswers.Targets(task, data.Documents[i]), t => Assert.False(string.IsNullOrWhiteSpace(t)));
        }
    }

    [Fact]
    public void Shipped_task_list_covers_the_shared_benchmarks()
    {
        Assert.Superset(new HashSet<string> { "arc_easy", "piqa", "nq_open", "triviaqa", "gsm8k", "gsm8k_cot", "bbh_boolean_expressions", "bbh_date_understanding",
            "bbh_object_counting", "bbh_web_of_lies", "multi30k_en_de", "humaneval", "humaneval_sampled", "mbpp", "mbpp_sampled", "tinyshakespeare" }, TaskConfig.BuiltIn.ToHashSet());
    }

    [DataFact("gsm8k")]
    public void Few_shot_exemplars_are_seeded_distinct_and_never_the_document_itself()
    {
        var task = TaskConfig.Resolve("gsm8k");
        var docs = TaskDataset.Load(task).Documents;
        var a = new PromptBuilder(task, docs, null, 7, null);
        var b = new PromptBuilder(task, docs, null, 7, null);
        var c = new PromptBuilder(task, docs, null, 8, null);
        for (int i = 0; i < 50; i++)
        {
            var shots = a.Exemplars(i);
            Assert.Equal(5, shots.Distinct().Count());
            Assert.DoesNotContain(i, shots);
            Assert.Equal(shots, b.Exemplars(i));
        }
        Assert.NotEqual(a.Prompt(0), c.Prompt(0));
        // Exemplars show only the final answer; chain of thought shows the worked solution.
        Assert.DoesNotContain("####", a.Prompt(0));
        Assert.Contains("####", new PromptBuilder(TaskConfig.Resolve("gsm8k_cot"), docs, null, 7, null).Prompt(0));
    }

    [Fact]
    public void Gsm8k_targets_and_extraction_agree_on_the_final_number()
    {
        var task = TaskConfig.Resolve("gsm8k");
        var doc = JsonDocument.Parse("{\"question\":\"q\",\"answer\":\"work\\n#### 1,200\"}").RootElement;
        Assert.Equal(["1200"], TaskAnswers.Targets(task, doc));
        Assert.Equal("1,200", AnswerExtraction.Apply(task.Filters, " She pays 3 * 400 = 1,200 dollars.\n"));
        Assert.Equal(AnswerExtraction.Invalid, AnswerExtraction.Apply(TaskConfig.Resolve("gsm8k_cot").Filters, "no final answer"));
        Assert.Equal("(B)", AnswerExtraction.Apply(TaskConfig.Resolve("bbh_date_understanding").Filters, "Tomorrow is 12/25/1937. So the answer is (B)."));
    }

    [Fact]
    public void Templates_follow_paths_and_filters_and_name_missing_fields()
    {
        var doc = JsonDocument.Parse("{\"q\":\"Why?\",\"list\":[\"a\",\"b\"],\"n\":{\"x\":\" 7 \"}}").RootElement;
        Assert.Equal("Q: Why? | b | 7 | a+b", PromptTemplate.Render("Q: {{q}} | {{list[1]}} | {{n.x|trim}} | {{list|join:+}}", doc));
        Assert.Equal(JsonValueKind.Array, PromptTemplate.Value("{{list}}", doc).ValueKind);
        var e = Assert.Throws<InvalidInputException>(() => PromptTemplate.Render("{{missing}}", doc));
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void A_task_file_with_a_typo_is_a_one_line_error_naming_it()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("t.yaml"), "task: t\noutput_type: multiple_choice\ndataset: { path: x.jsonl }\ndoc_to_txt: q\n");
        var e = Assert.Throws<InvalidInputException>(() => TaskConfig.Load(dir.File("t.yaml")));
        Assert.StartsWith(dir.File("t.yaml"), e.Message);
        Assert.Contains("doc_to_txt", e.Message);
        File.WriteAllText(dir.File("m.yaml"), "task: t\noutput_type: multiple_choice\ndataset: { path: x.jsonl }\nmetrics: [acc, exactmatch]\n");
        Assert.Contains("metric 'exactmatch'", Assert.Throws<InvalidInputException>(() => TaskConfig.Load(dir.File("m.yaml"))).Message);
    }
}
