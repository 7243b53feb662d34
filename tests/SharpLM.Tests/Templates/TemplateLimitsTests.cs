using SharpLM.Templates;

namespace SharpLM.Tests.Templates;

/// <summary>
/// A chat template comes from a stranger's tokenizer_config.json or GGUF file: however it is built, it must end in a
/// one-line error, never a stack overflow (which no catch can stop), a hang or an out-of-memory.
/// </summary>
public class TemplateLimitsTests
{
    static string Render(string template) => JinjaTemplate.Parse(template, "tokenizer_config.json: chat_template").Render(new Dictionary<string, object?>());

    public static TheoryData<string, string> Hostile => new()
    {
        { "{{ " + new string('(', 20_000) + "1" + new string(')', 20_000) + " }}", "nests more than 200 levels" },
        { "{{ " + string.Concat(Enumerable.Repeat("-", 50_000)) + "1 }}", "nests more than 200 levels" },
        { string.Concat(Enumerable.Repeat("{% if true %}", 5_000)) + "x" + string.Concat(Enumerable.Repeat("{% endif %}", 5_000)), "nests more than 200 levels" },
        { "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "runaway recursion" },
        { "{{ 'ab' * 100000 * 100000 }}", "more than a template may produce" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void A_hostile_template_gives_a_one_line_error_instead_of_exhausting_the_process(string template, string problem)
    {
        var e = Assert.Throws<InvalidInputException>(() => Render(template));
        Assert.Contains(problem, e.Message);
        Assert.StartsWith("tokenizer_config.json: chat_template line 1", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("{{ 1 ** 9223372036854775807 }}", "1")]
    [InlineData("{{ 0 ** 9223372036854775807 }}", "0")]
    [InlineData("{{ (-1) ** 9223372036854775807 }}", "-1")]
    [InlineData("{{ (-1) ** 9223372036854775806 }}", "1")]
    [InlineData("{{ 2 ** 10 }}", "1024")]
    public void Integer_powers_with_huge_exponents_are_answered_at_once(string template, string expected) =>
        Assert.Equal(expected, Render(template));
}
