using SharpLM.Adaptation.Formatting;

namespace SharpLM.Tests.Adaptation.Formatting;

public class InstructionTemplateTests
{
    static IReadOnlyList<IReadOnlyDictionary<string, string>> Multi30k() => ParallelCorpus.Read(new Dictionary<string, string>
    {
        ["en"] = TestData.Path("multi30k/test_2016_flickr.en.gz"),
        ["de"] = TestData.Path("multi30k/test_2016_flickr.de.gz"),
    });

    [Fact]
    public void The_library_ships_several_templates_each_with_several_phrasings()
    {
        Assert.Contains("multi30k_en_de", InstructionTemplateLibrary.Names);
        Assert.Contains("alpaca", InstructionTemplateLibrary.Names);
        Assert.True(InstructionTemplateLibrary.Names.Count >= 4);
    }

    [DataFact("multi30k")]
    public void Every_template_file_loads_and_renders_every_phrasing()
    {
        var pair = Multi30k()[0];
        foreach (string name in InstructionTemplateLibrary.Names)
        {
            var template = InstructionTemplateLibrary.Resolve(name);
            Assert.Equal(name, template.Task);
            Assert.True(template.Phrasings.Count >= 4, $"{name} has {template.Phrasings.Count} phrasings");
            // A Multi30k pair where the template uses en/de; otherwise a record naming each field.
            var record = template.Fields.All(pair.ContainsKey) ? pair : template.Fields.ToDictionary(f => f, f => $"<{f} value>");
            for (int i = 0; i < template.Phrasings.Count; i++)
            {
                string prompt = template.RenderPrompt(i, record);
                Assert.DoesNotContain("{{", prompt);
                Assert.True(template.Fields.Any(f => prompt.Contains(record[f])), $"{name} phrasing {i} shows no field: {prompt}");
            }
            Assert.DoesNotContain("{{", template.RenderResponse(record));
        }
    }

    [DataFact("multi30k")]
    public void A_multi30k_pair_becomes_a_translation_instruction()
    {
        var records = Multi30k();
        Assert.Equal(1000, records.Count);
        var instance = new InstructionFormatter(InstructionTemplateLibrary.Resolve("multi30k_en_de")) { Phrasing = 0 }.Format(records[0]);
        Assert.Equal("Translate English to German: A man in an orange hat starring at something.", instance.Prompt);
        Assert.Equal("Ein Mann mit einem orangefarbenen Hut, der etwas anstarrt.", instance.Response);
        Assert.Equal([Turn.User(instance.Prompt), Turn.Assistant(instance.Response)], instance.ToConversation().Turns);
    }

    [DataFact("multi30k")]
    public void Random_phrasings_are_seeded_and_can_be_restricted()
    {
        var template = InstructionTemplateLibrary.Resolve("multi30k_en_de");
        var records = Multi30k().Take(50).ToList();
        var a = new InstructionFormatter(template, seed: 7).FormatAll(records).ToList();
        var b = new InstructionFormatter(template, seed: 7).FormatAll(records).ToList();
        var c = new InstructionFormatter(template, seed: 8).FormatAll(records).ToList();
        Assert.Equal(a, b);
        Assert.NotEqual(a.Select(i => i.Phrasing), c.Select(i => i.Phrasing));
        Assert.True(a.Select(i => i.Phrasing).Distinct().Count() > 2);

        var restricted = new InstructionFormatter(template, seed: 7) { AllowedPhrasings = [1, 3] }.FormatAll(records).ToList();
        Assert.All(restricted, i => Assert.Contains(i.Phrasing, new[] { 1, 3 }));
    }

    [DataFact("multi30k")]
    public void Exemplars_come_from_the_pool_before_the_prompt_and_never_repeat_the_record()
    {
        var template = InstructionTemplateLibrary.Resolve("multi30k_en_de");
        var records = Multi30k().Take(3).ToList();
        var formatter = new InstructionFormatter(template, seed: 1) { Phrasing = 0, Exemplars = 2, ExemplarPool = records };
        var instance = formatter.Format(records[0]);
        Assert.EndsWith("\n\nTranslate English to German: " + records[0]["en"], instance.Prompt);
        Assert.Contains($"Translate English to German: {records[1]["en"]}\n{records[1]["de"]}\n\n", instance.Prompt);
        Assert.Contains($"Translate English to German: {records[2]["en"]}\n{records[2]["de"]}\n\n", instance.Prompt);
        Assert.Equal(records[0]["de"], instance.Response);
    }

    [Theory]
    [InlineData("task: t\nfields: [a]\nphrasings: [\"Do {{b}}\"]\nresponse: \"{{a}}\"", "phrasings[0]: slot {{b}} is not one of the fields")]
    [InlineData("task: t\nfields: [a]\nphrasings: []\nresponse: \"{{a}}\"", "phrasings: at least one")]
    [InlineData("task: t\nfields: [a]\nphrasings: [\"{{a}}\"]\nresponse: \"{{a}}\"\nextra: 1", "not a valid instruction template")]
    [InlineData("task: t\nfields: [a]\nphrasings: [\"{{a}}\"]", "not a valid instruction template")]
    public void Invalid_template_files_are_errors_naming_the_file(string yaml, string problem)
    {
        using var directory = new TempDirectory();
        string path = directory.File("bad.yaml");
        File.WriteAllText(path, yaml);
        var error = Assert.Throws<InvalidInputException>(() => InstructionTemplate.Load(path));
        Assert.StartsWith($"{path}: ", error.Message);
        Assert.Contains(problem, error.Message);
    }
}
