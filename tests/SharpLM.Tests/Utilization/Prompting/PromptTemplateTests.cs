using System.Text.Json;
using SharpLM.Templates;
using SharpLM.Utilization.Prompting;

namespace SharpLM.Tests.Utilization.Prompting;

public class PromptTemplateTests
{
    static JsonElement Doc(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void Legacy_filter_arguments_become_quoted_jinja_arguments_with_escapes_read()
    {
        Assert.Equal("{{ answer | after('#### ') | strip_numbers }}", PromptTemplate.FromLegacySyntax("{{answer|after:#### |strip_numbers}}"));
        Assert.Equal("a {{ xs | join('\\n\\t\\'\\\\') }} b", PromptTemplate.FromLegacySyntax("a {{xs|join:\\n\\t'\\}} b"));
        const string jinja = "{{ xs | join(':') }} {% if a %}{{ a.b[0] | trim }}{% endif %}";
        Assert.Equal(jinja, PromptTemplate.FromLegacySyntax(jinja));
        var doc = Doc("""{"xs":["p","q"],"a":{"b":[" r "]}}""");
        Assert.Equal("p:q r", PromptTemplate.Render(jinja, doc));
        Assert.Equal("p\n\t'\\q", PromptTemplate.Render("{{xs|join:\\n\\t'\\}}", doc));
    }

    [Fact]
    public void After_before_and_strip_numbers_cut_at_the_last_and_first_separator_and_leave_text_without_one()
    {
        var doc = Doc("""{"s":"a#b#c 1,234","t":"plain"}""");
        Assert.Equal("c 1234|a|plain|plain", PromptTemplate.Render("{{ s | after('#') | strip_numbers }}|{{ s | before('#') }}|{{ t | after('#') }}|{{ t | before('#') }}", doc));
        var e = Assert.Throws<InvalidInputException>(() => PromptTemplate.Render("x\n{{ s | after }}", doc, "t.yaml: doc_to_text"));
        Assert.StartsWith("t.yaml: doc_to_text line 2: after() takes one string", e.Message);
    }

    [Fact]
    public void A_missing_field_is_an_error_naming_the_source_and_line_unless_the_template_tests_for_it()
    {
        var doc = Doc("""{"q":"Why?","n":{"x":1}}""");
        var e = Assert.Throws<InvalidInputException>(() => PromptTemplate.Render("Q: {{ q }}\nA: {{ answr }}", doc, "tasks/t.yaml: doc_to_text"));
        Assert.Equal("tasks/t.yaml: doc_to_text line 2: 'answr' is undefined", e.Message);
        var nested = Assert.Throws<InvalidInputException>(() => PromptTemplate.Render("{{ n.y }}!", doc, "p.yaml: input"));
        Assert.Equal("p.yaml: input line 1: 'dict object' has no attribute 'y'", nested.Message);
        Assert.Equal("none|fallback", PromptTemplate.Render("{{ 'set' if answr is defined else 'none' }}|{{ answr | default('fallback') }}", doc));
        Assert.StartsWith("p.yaml: input line 1: unknown filter 'shout'", Assert.Throws<InvalidInputException>(() => PromptTemplate.Render("{{ q | shout }}", doc, "p.yaml: input")).Message);
    }

    [Fact]
    public void A_single_expression_is_its_value_and_longer_text_prints_as_jinja2_does()
    {
        var doc = Doc("""{"xs":["a","b"],"gold":2,"f":0.5,"none":null}""");
        Assert.Equal(JsonValueKind.Array, PromptTemplate.Value("{{ xs }}", doc).ValueKind);
        Assert.Equal(2, PromptTemplate.Value("{{ gold }}", doc).GetInt32());
        Assert.Equal("3", PromptTemplate.AsText(PromptTemplate.Value("{{ gold + 1 }}", doc)));
        Assert.Equal("a, b|0.5|", string.Join("|", new[] { "{{ xs }}", "{{ f }}", "{{ none }}" }.Select(t => PromptTemplate.Render(t, doc))));
        Assert.Equal("['a', 'b'] None 0.5\n", PromptTemplate.Render("{{ xs }} {{ none }} {{ f }}\n", doc));
    }

    [Fact]
    public void Variables_are_the_top_level_names_read_not_those_the_template_binds_or_quotes()
    {
        const string template = "{% set n = 3 %}{{ meta.answer | trim }} {{ 'question' }} {% for c in choices %}{{ loop.index }}{{ c ~ sep }}{% endfor %}{{ n }}{{ meta.x }}";
        Assert.Equal(["meta", "choices", "sep"], PromptTemplate.Variables(template));
        Assert.Equal(["test_list"], PromptTemplate.Variables("{{test_list|join:\\n}}"));
    }

    [Fact]
    public void Chat_templates_keep_jinja2s_filter_set_whitespace_and_lenient_undefined()
    {
        Assert.Contains("unknown filter 'after'", Assert.Throws<InvalidInputException>(() => JinjaTemplate.Parse("{{ x | after('a') }}", "chat")).Message);
        Assert.Equal("[]", JinjaTemplate.Parse("[{{ missing }}]\n", "chat").Render(new Dictionary<string, object?>()));
        // Task templates keep the final newline and block whitespace, as lm-evaluation-harness's environment does.
        Assert.Equal("a\n  x\n\n", PromptTemplate.Render("a\n  {% if true %}x{% endif %}\n\n", Doc("{}")));
    }
}
