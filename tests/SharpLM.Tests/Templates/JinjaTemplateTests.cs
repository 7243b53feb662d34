using SharpLM.Templates;

namespace SharpLM.Tests.Templates;

/// <summary>The Jinja engine on its own: whitespace control, scoping, values and errors. Expected strings are what
/// jinja2 3.1.6 renders with transformers' settings (checked by hand in Python when these were written).</summary>
public class JinjaTemplateTests
{
    static string Render(string template, Dictionary<string, object?>? variables = null) =>
        JinjaTemplate.Parse(template, "test").Render(variables ?? []);

    [Theory]
    // trim_blocks: a block tag eats the newline after it; lstrip_blocks: the indentation before it.
    [InlineData("{% if true %}\nyes\n{% endif %}\n", "yes\n")]
    [InlineData("  {% if true %}\n    x\n  {% endif %}\nz", "    x\nz")]
    [InlineData("a  {% if true %}b{% endif %}", "a  b")] // not alone on its line: no lstrip
    [InlineData("a\n  {%+ if true %}b{% endif %}", "a\n  b")] // "+" disables lstrip
    [InlineData("a  {%- if true -%}  b  {%- endif %}", "ab")]
    [InlineData("a \n {{- 'b' -}} \n c", "abc")]
    [InlineData("{{ 'x' }}\n{{ 'y' }}", "x\ny")] // variables never trim
    [InlineData("  {# note #}\nx", "x")] // comments trim and lstrip like blocks
    [InlineData("a\r\nb\r\n", "a\nb")] // newlines normalised, one trailing newline dropped
    [InlineData("a\n\n", "a\n")]
    public void Whitespace_control_matches_jinja2(string template, string expected) => Assert.Equal(expected, Render(template));

    [Theory]
    [InlineData("{{ 1 + 2 * 3 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 10 / 4 }}|{{ 2 ** 10 }}", "7|3|-4|2|2.5|1024")]
    [InlineData("{{ 1.0 }}|{{ 1e20 }}|{{ 1.5e-7 }}|{{ 0.1 + 0.2 }}|{{ 1 / 3 }}", "1.0|1e+20|1.5e-07|0.30000000000000004|0.3333333333333333")]
    [InlineData("{{ none }}|{{ true }}|{{ [1, 'a', none] }}|{{ {'k': false} }}|{{ (1,) }}", "None|True|[1, 'a', None]|{'k': False}|(1,)")]
    [InlineData("{{ 'a' ~ 1 ~ none }}|{{ 'ab' * 2 }}|{{ [1] + [2] }}", "a1None|abab|[1, 2]")]
    [InlineData("{{ 'x' if false }}|{{ 'x' if 0 else 'y' }}|{{ 0 or 'z' }}|{{ 1 and 'w' }}", "|y|z|w")]
    [InlineData("{{ 1 < 2 < 3 }}|{{ 'b' in 'abc' }}|{{ 2 not in [1, 3] }}|{{ 1 == 1.0 }}", "True|True|True|True")]
    [InlineData("{{ 'héllo 😀'[::-1] }}|{{ 'héllo 😀' | length }}|{{ [1, 2, 3, 4][1:3] }}|{{ [1, 2, 3][-1] }}", "😀 olléh|7|[2, 3]|3")]
    [InlineData("{{ '  a b  '.strip() }}|{{ 'a,b'.split(',') }}|{{ ' a  b '.split() }}|{{ 'ab'.startswith(('x', 'a')) }}", "a b|['a', 'b']|['a', 'b']|True")]
    [InlineData("{{ 'hello world' | title }}|{{ 'hELLO' | capitalize }}|{{ '<a & b>' | e }}|{{ 'abc' | upper }}", "Hello World|Hello|&lt;a &amp; b&gt;|ABC")]
    [InlineData("{{ {'b': 1, 'a': [1, 'é']} | tojson }}|{{ [] | tojson(indent=2) }}|{{ {'a': 1} | tojson(indent=2) }}", "{\"b\": 1, \"a\": [1, \"é\"]}|[]|{\n  \"a\": 1\n}")]
    [InlineData("{{ x | default('d') }}|{{ '' | default('d') }}|{{ '' | default('d', true) }}|{{ x is defined }}|{{ none is none }}", "d||d|False|True")]
    [InlineData("{{ [3, 1, 2] | sort | join(',') }}|{{ ['b', 'A'] | sort | first }}|{{ [1, 2] | last }}|{{ '42' | int + 1 }}|{{ '2.5' | float }}", "1,2,3|A|2|43|2.5")]
    [InlineData("{{ [{'r': 'a'}, {'r': 'b'}] | selectattr('r', 'equalto', 'b') | list | length }}|{{ [{'r': 'a'}] | map(attribute='r') | join }}", "1|a")]
    [InlineData("{{ {'a': 1}.get('b', 2) }}|{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}", "2|a=1;b=2;")]
    public void Expressions_filters_and_methods_match_jinja2(string template, string expected) => Assert.Equal(expected, Render(template));

    [Fact]
    public void Loops_have_jinja2_loop_variables_filters_else_and_scoping()
    {
        Assert.Equal("1/3 first a>b;2/3 b>c;3/3 last c;",
            Render("{% for x in xs %}{{ loop.index }}/{{ loop.length }}{% if loop.first %} first{% endif %}{% if loop.last %} last{% endif %} {{ x }}{% if not loop.last %}>{{ loop.nextitem }}{% endif %};{% endfor %}",
                new() { ["xs"] = new List<object?> { "a", "b", "c" } }));
        Assert.Equal("0:b 1:c ", Render("{% for x in ['a', 'b', 'c'] if x != 'a' %}{{ loop.index0 }}:{{ x }} {% endfor %}"));
        Assert.Equal("empty", Render("{% for x in [] %}{{ x }}{% else %}empty{% endfor %}"));
        // {% set %} in a loop ends with the iteration; a namespace carries state out.
        Assert.Equal("[5][5]5|3", Render("{% set x = 5 %}{% set ns = namespace(n=0) %}{% for i in [1, 2, 3] %}{% if i < 3 %}[{{ x }}]{% endif %}{% set x = i %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ x }}|{{ ns.n }}"));
        Assert.Equal("12", Render("{% for i in [1, 2, 3, 4] %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"));
        Assert.Equal("13", Render("{% for i in [1, 2, 3] %}{% if i == 2 %}{% continue %}{% endif %}{{ i }}{% endfor %}"));
    }

    [Fact]
    public void Macros_and_set_blocks_render_their_bodies()
    {
        Assert.Equal("<b>x</b><i>y</i>", Render("{% macro tag(text, name='b') %}<{{ name }}>{{ text }}</{{ name }}>{% endmacro %}{{ tag('x') }}{{ tag('y', name='i') }}"));
        Assert.Equal("[ab]", Render("{% set s %}a{{ 'b' }}{% endset %}[{{ s }}]"));
    }

    [Fact]
    public void Undefined_prints_empty_is_false_and_fails_on_attribute_access()
    {
        Assert.Equal("|False|0|", Render("{{ missing }}|{{ missing is true or false }}|{{ missing | length }}|{% for x in missing %}{{ x }}{% endfor %}"));
        Assert.Equal("", Render("{{ {'a': 1}.b }}{{ [1][5] }}"));
        var e = Assert.Throws<InvalidInputException>(() => Render("line one\n{{ missing.field }}"));
        Assert.Equal("test line 2: 'missing' is undefined", e.Message);
    }

    [Fact]
    public void Raise_exception_reports_the_templates_message_and_line()
    {
        var e = Assert.Throws<InvalidInputException>(() => Render("a\n\n{{ raise_exception('Roles must alternate!') }}"));
        Assert.Equal("test line 3: Roles must alternate!", e.Message);
    }

    [Theory]
    [InlineData("ok\n\n{{ x | foo }}", "t.json: chat_template line 3: unknown filter 'foo'")]
    [InlineData("{% if x %}\n{% endfor %}", "t.json: chat_template line 2: unexpected 'endfor'")]
    [InlineData("{% frobnicate %}", "t.json: chat_template line 1: unknown tag 'frobnicate'")]
    [InlineData("\n{{ x is frob }}", "t.json: chat_template line 2: unknown test 'frob'")]
    [InlineData("{{ 'abc }}", "t.json: chat_template line 1: unexpected end of string")]
    [InlineData("a\n{# never closed", "t.json: chat_template line 2: missing end of comment tag")]
    [InlineData("{{ (1 + }}", "t.json: chat_template line 1: unexpected '}'")]
    public void Syntax_errors_name_the_template_and_line(string template, string message)
    {
        var e = Assert.Throws<InvalidInputException>(() => JinjaTemplate.Parse(template, "t.json: chat_template"));
        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData("{{ 1 + 'a' }}", "test line 1: unsupported operand type(s) for +: 'int' and 'str'")]
    [InlineData("\n{{ 1 // 0 }}", "test line 2: integer division or modulo by zero")]
    [InlineData("{% set x = 1 %}{% set x.a = 2 %}", "test line 1: cannot assign attribute on non-namespace object 'x'")]
    [InlineData("{{ none | tojson }}{{ missing | tojson }}", "test line 1: Object of type Undefined is not JSON serializable")]
    [InlineData("{{ 'a' < 1 }}", "test line 1: '<' not supported between instances of 'str' and 'int'")]
    public void Runtime_errors_name_the_template_and_line(string template, string message)
    {
        var e = Assert.Throws<InvalidInputException>(() => Render(template));
        Assert.Equal(message, e.Message);
    }
}
