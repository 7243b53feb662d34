using System.Text.Json.Nodes;
using SharpLM.Templates;

namespace SharpLM.Tests.Templates;

/// <summary>
/// Real chat templates (Fixtures/templates/*/tokenizer_config.json) rendered by the C# engine and compared byte for
/// byte with jinja2's renderings committed beside them (written by render_reference.py with jinja2 3.1.6, configured
/// as transformers configures it).
/// </summary>
public class HfChatTemplateTests
{
    static string FixtureFolder => TestData.Fixture("templates");

    static JsonObject Conversations => (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureFolder, "conversations.json")))!;

    static (List<ChatTemplateMessage> Messages, JsonArray? Tools) Conversation(string name)
    {
        var conversation = (JsonObject)Conversations[name]!;
        var messages = ((JsonArray)conversation["messages"]!)
            .Select((m, i) => ChatTemplateMessage.FromJson((JsonObject)m!, $"{name} message {i}")).ToList();
        return (messages, conversation["tools"] as JsonArray);
    }

    static HfChatTemplate Template(string model) => HfChatTemplate.Load(Path.Combine(FixtureFolder, model));

    /// <summary>Every (model, conversation, mode) with a committed rendering or error.</summary>
    public static TheoryData<string, string, string> Renderings()
    {
        var data = new TheoryData<string, string, string>();
        foreach (string expected in Directory.GetFiles(FixtureFolder, "*.txt", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string model = Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(expected))!);
            string[] parts = Path.GetFileName(expected).Split('.');
            data.Add(model, parts[0], parts[1]);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Renderings))]
    public void Fixture_template_renders_as_jinja2_does(string model, string conversation, string mode)
    {
        var (messages, tools) = Conversation(conversation);
        string expected = Path.Combine(FixtureFolder, model, "expected", $"{conversation}.{mode}");
        var template = Template(model);
        if (File.Exists(expected + ".txt"))
        {
            Assert.Equal(File.ReadAllText(expected + ".txt"), template.Render(messages, mode == "generation", tools));
        }
        else
        {
            var e = Assert.Throws<InvalidInputException>(() => template.Render(messages, mode == "generation", tools));
            Assert.EndsWith(": " + File.ReadAllText(expected + ".error.txt"), e.Message);
        }
    }

    [Fact]
    public void Every_fixture_model_has_renderings_with_and_without_generation_prompt()
    {
        var models = Directory.GetDirectories(FixtureFolder).Select(Path.GetFileName).ToList();
        Assert.Equal(["chatml", "llama3", "llama3.1", "mistral-v0.1", "mistral-v0.3", "qwen2", "qwen2.5"], models.Order(StringComparer.Ordinal));
        foreach (string? model in models)
        {
            var files = Directory.GetFiles(Path.Combine(FixtureFolder, model!, "expected")).Select(Path.GetFileName).ToList();
            Assert.Contains("multi_turn.generation.txt", files);
            Assert.Contains("multi_turn.plain.txt", files);
        }
    }

    /// <summary>Every (model, conversation) whose assistant spans jinja2's progressive rendering produced.</summary>
    public static TheoryData<string, string> SpanFixtures()
    {
        var data = new TheoryData<string, string>();
        foreach (string spans in Directory.GetFiles(FixtureFolder, "*.spans.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(spans))!), Path.GetFileName(spans).Split('.')[0]);
        return data;
    }

    [Theory]
    [MemberData(nameof(SpanFixtures))]
    public void Assistant_spans_for_sft_match_the_reference_and_cover_each_reply(string model, string conversation)
    {
        var (messages, tools) = Conversation(conversation);
        var rendered = Template(model).RenderWithAssistantSpans(messages, tools);
        Assert.Equal(File.ReadAllText(Path.Combine(FixtureFolder, model, "expected", $"{conversation}.plain.txt")), rendered.Text);
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureFolder, model, "expected", $"{conversation}.spans.json")))!.AsArray()
            .Select(s => new CharacterSpan((int)s![0]!, (int)s[1]!)).ToList();
        Assert.Equal(expected, rendered.AssistantSpans);
        var replies = messages.Where(m => m.Role == "assistant").ToList();
        Assert.Equal(replies.Count, rendered.AssistantSpans.Count);
        for (int i = 0; i < replies.Count; i++)
        {
            // Each span holds its reply's text (some templates trim it), and nothing of the prompt before it.
            string span = rendered.Text.Substring(rendered.AssistantSpans[i].Start, rendered.AssistantSpans[i].Length);
            if (replies[i].Content is { } content) Assert.Contains(content.Trim(), span);
            Assert.DoesNotContain("user", span);
        }
    }

    [Fact]
    public void Chatml_assistant_span_is_the_reply_with_its_end_of_turn()
    {
        var rendered = Template("chatml").RenderWithAssistantSpans(
            [new("user", "Hi"), new("assistant", "Hello there")]);
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello there<|im_end|>\n", rendered.Text);
        var span = Assert.Single(rendered.AssistantSpans);
        Assert.Equal("Hello there<|im_end|>\n", rendered.Text.Substring(span.Start, span.Length));
    }

    [Fact]
    public void Mistral_alternation_check_raises_the_templates_message_with_file_and_line()
    {
        var e = Assert.Throws<InvalidInputException>(() => Template("mistral-v0.1").Render([new("user", "a"), new("user", "b")]));
        Assert.Matches(@"mistral-v0\.1.tokenizer_config\.json: chat_template line 1: Conversation roles must alternate user/assistant/user/assistant/\.\.\.$", e.Message);
    }

    [Fact]
    public void Mistral_v03_moves_the_system_message_so_its_spans_are_refused_naming_the_template()
    {
        var (messages, _) = Conversation("system_multi_turn");
        var e = Assert.Throws<InvalidInputException>(() => Template("mistral-v0.3").RenderWithAssistantSpans(messages));
        Assert.Contains("mistral-v0.3", e.Message);
        Assert.Contains("chat_template: cannot mask assistant message 2", e.Message);
    }

    [Fact]
    public void Chat_template_list_uses_the_entry_named_default_and_token_objects_give_their_content()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer_config.json"), """
            {"bos_token": {"content": "<B>", "lstrip": false}, "eos_token": "<E>",
             "chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}"}]}
            """);
        var template = HfChatTemplate.Load(dir.Path);
        Assert.Equal("<B>hi<E>", template.Render([new("user", "hi")]));
    }

    [Theory]
    [InlineData("""{"eos_token": "x"}""", "chat_template: missing")]
    [InlineData("""{"chat_template": 3}""", "chat_template: expected a string or a list")]
    [InlineData("""{"chat_template": [{"name": "other", "template": "x"}]}""", "chat_template: the list has no template named \"default\"")]
    [InlineData("""{"chat_template": [{"name": "default"}]}""", "chat_template[0]: expected")]
    [InlineData("""{"chat_template": "x", "bos_token": 1}""", "bos_token: expected a string or an object")]
    [InlineData("""{"chat_template": "{% if x %}"}""", "chat_template line 1: unexpected end of template, expected 'elif' or 'else' or 'endif'")]
    public void Malformed_tokenizer_config_is_refused_naming_file_and_field(string json, string problem)
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "tokenizer_config.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidInputException>(() => HfChatTemplate.Load(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }
}
