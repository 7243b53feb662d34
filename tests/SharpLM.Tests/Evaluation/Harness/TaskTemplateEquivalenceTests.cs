using System.Text.Json;
using SharpLM.Evaluation.Harness;
using SharpLM.Utilization.Prompting;

namespace SharpLM.Tests.Evaluation.Harness;

/// <summary>
/// The shipped tasks and prompt file, converted to Jinja, render byte for byte what the earlier mini-language rendered
/// (<see cref="LegacyPromptTemplate"/>, the oracle), over documents shaped like each benchmark's with the corner cases
/// its filters meet; and the files as they were, in the old syntax (Fixtures/legacy-templates), render the same
/// through the Jinja path too.
/// </summary>
public class TaskTemplateEquivalenceTests
{
    // Documents per task family: the benchmark's fields, with separators repeated or absent, commas in numbers,
    // surrounding spaces, non-ASCII text, quotes, backslashes and newlines.
    static readonly Dictionary<string, string[]> documents = new()
    {
        ["arc_easy"] = ["""{"query":"Question: Which is a gas?","choices":["ice","steam","rock"],"gold":1}""", """{"query":"Q: «Ünïcode» \\ 'x'\n","choices":["a, b","c"],"gold":0}"""],
        ["piqa"] = ["""{"query":"  Goal: open a jar \n","choices":["twist the lid","hit it"],"gold":0}""", """{"query":"\tGoal: \"quoted\"","choices":["x","y"],"gold":1}"""],
        ["bbh"] = ["""{"input":"not ( True ) and ( True ) is","target":"False"}""", """{"input":"Today is 12/24/1937.\nWhat is tomorrow?\nOptions:\n(A) 12/25/1937","target":"(A)"}"""],
        ["gsm8k"] = ["""{"question":"She pays 3 * 400?","answer":"3 * 400 = <<3*400=1200>>1200\n#### 1,200"}""", """{"question":"Two markers?","answer":"#### 5 then #### 1,000,000"}""", """{"question":"No marker","answer":"it is 42"}"""],
        ["humaneval"] = ["""{"prompt":"def add(a, b):\n    \"\"\"Add.\"\"\"\n"}""", """{"prompt":"def f():\n\t'''tab \\\\ '''\n"}"""],
        ["mbpp"] = ["""{"text":"Write a function to add.","test_list":["assert add(1, 2) == 3","assert add(0, 0) == 0","assert add(-1, 1) == 0"]}""", """{"text":"Ünïcode","test_list":["assert f('a|b') == 1"]}"""],
        ["multi30k_en_de"] = ["""{"en":"A man in an orange hat.","de":"Ein Mann mit einem orangefarbenen Hut."}""", """{"en":"Two dogs\nrun.","de":"Zwei Hunde laufen."}"""],
        ["nq_open"] = ["""{"question":"who wrote hamlet","answer":["William Shakespeare","Shakespeare"]}""", """{"question":"how many legs","answer":["4"]}"""],
        ["tinyshakespeare"] = ["""{"text":"First Citizen:\nBefore we proceed any further, hear me speak.\n"}"""],
        ["triviaqa"] = ["""{"context":"Question: Which planet is red?\nAnswer:","aliases":["Mars","mars","The Red Planet"]}"""],
    };

    public static TheoryData<string> BuiltIn() => new(TaskConfig.BuiltIn);

    static string Family(string task) => documents.Keys.Where(task.StartsWith).MaxBy(k => k.Length)
        ?? throw new InvalidOperationException($"no documents for the built-in task {task}: add some to this test");

    [Theory]
    [MemberData(nameof(BuiltIn))]
    public void A_shipped_task_renders_byte_for_byte_what_the_old_template_language_rendered(string name)
    {
        var converted = TaskConfig.Resolve(name);
        var legacy = TaskConfig.Load(TestData.Fixture($"legacy-templates/{name}.yaml"));
        Assert.NotEqual(legacy.DocToText, converted.DocToText); // the shipped file really is the converted one
        foreach (string json in documents[Family(name)])
        {
            var doc = JsonDocument.Parse(json).RootElement;
            string expected = LegacyPromptTemplate.Render(legacy.DocToText, doc);
            Assert.Equal(expected, PromptTemplate.Render(converted.DocToText, doc));
            Assert.Equal(expected, PromptTemplate.Render(legacy.DocToText, doc));
            if (legacy.Fewshot.DocToTarget is string shot)
            {
                Assert.Equal(LegacyPromptTemplate.Render(shot, doc), PromptTemplate.Render(converted.Fewshot.DocToTarget!, doc));
                Assert.Equal(LegacyPromptTemplate.Render(shot, doc), PromptTemplate.Render(shot, doc));
            }
            if (legacy.DocToChoice is { ValueKind: JsonValueKind.String } choice)
            {
                var oldChoices = LegacyPromptTemplate.Value(choice.GetString()!, doc).EnumerateArray().Select(PromptTemplate.AsText).ToArray();
                Assert.Equal(oldChoices, TaskAnswers.Choices(converted, doc));
                Assert.Equal(oldChoices, TaskAnswers.Choices(legacy, doc));
                var oldTarget = LegacyPromptTemplate.Value(legacy.DocToTarget!, doc);
                Assert.Equal(oldTarget.GetInt32(), TaskAnswers.Gold(converted, doc));
                Assert.Equal(oldTarget.GetInt32(), TaskAnswers.Gold(legacy, doc));
            }
            else if (legacy.DocToTarget is string target)
            {
                var old = LegacyPromptTemplate.Value(target, doc);
                string[] oldTargets = old.ValueKind == JsonValueKind.Array ? old.EnumerateArray().Select(PromptTemplate.AsText).ToArray() : [PromptTemplate.AsText(old)];
                Assert.Equal(oldTargets, TaskAnswers.Targets(converted, doc));
                Assert.Equal(oldTargets, TaskAnswers.Targets(legacy, doc));
                Assert.Equal(LegacyPromptTemplate.Render(target, doc), PromptTemplate.Render(converted.DocToTarget!, doc));
            }
        }
    }

    [Fact]
    public void The_shipped_prompt_file_renders_byte_for_byte_what_the_old_template_language_rendered()
    {
        var converted = PromptFile.Load(Path.Combine(TestData.RepositoryRoot, "prompts", "sentiment.yaml"));
        var legacy = PromptFile.Load(TestData.Fixture("legacy-templates/sentiment.yaml"));
        Assert.NotEqual(legacy.Input, converted.Input);
        var input = new Dictionary<string, string> { ["review"] = "It's \"fine\", I suppose… \\ {{ not a tag }}\n" };
        string expected = string.Join("\n\n", new[] { legacy.Description!.Trim(), legacy.OutputFormat!.Trim() }
            .Concat(legacy.Demonstrations.Select(d => LegacyPromptTemplate.Render(legacy.Input, PromptFile.Bind(d.Fields)) + " " + LegacyPromptTemplate.Render(legacy.Target, PromptFile.Bind(d.Fields))))
            .Append(LegacyPromptTemplate.Render(legacy.Input, PromptFile.Bind(input))));
        Assert.Equal(expected, converted.Render(input));
        Assert.Equal(expected, legacy.Render(input));
    }
}
