using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using SharpLM.Runtime;
using SharpLM.Utilization.Tools;

namespace SharpLM.Tests.Utilization;

public class CalculatorTests
{
    [Theory]
    [InlineData("2+3*4", "14")]
    [InlineData("(2+3)*4", "20")]
    [InlineData("10 - 4 - 3", "3")]           // left-associative
    [InlineData("64 / 4 / 2", "8")]
    [InlineData("2^3^2", "512")]              // right-associative
    [InlineData("2**10", "1024")]
    [InlineData("-2^2", "-4")]                // the power binds tighter than the sign, as in Python and maths
    [InlineData("(-2)^2", "4")]
    [InlineData("2^-2", "0.25")]
    [InlineData("7/2", "3.5")]
    [InlineData("0.1 + 0.2", "0.3")]          // exact, not 0.30000000000000004
    [InlineData("1/3", "0.333333333333")]     // rounded only at the end, to 12 places
    [InlineData("2/3", "0.666666666667")]
    [InlineData("-1/3", "-0.333333333333")]
    [InlineData("1/3*3", "1")]
    [InlineData("12,345 × 2", "24690")]
    [InlineData("1_000 ÷ 8", "125")]
    [InlineData(".5 + 1.25", "1.75")]
    [InlineData("  -(-(3))  ", "3")]
    [InlineData("123456789 * 987654321", "121932631112635269")]
    [InlineData("1^10000", "1")]
    [InlineData("0.0000000000001", "0")]      // below the 12th place
    [InlineData("-0.0000000000001", "0")]     // and no "-0"
    public void Evaluates_with_the_usual_precedence_exactly(string expression, string expected) =>
        Assert.Equal(expected, Calculator.Evaluate(expression));

    [Theory]
    [InlineData("", "empty expression", 0)]
    [InlineData("1/0", "division by zero", 1)]
    [InlineData("1/(2-2)", "division by zero", 1)]
    [InlineData("3 4", "unexpected '4' at 2", 2)]
    [InlineData("__import__('os')", "unexpected '_' at 0", 0)]
    [InlineData("2 +", "expression ends where a number was expected", 3)]
    [InlineData("(1+2", "missing ')' for the '(' at 0", 4)]
    [InlineData("1.2.3", "unexpected '.' at 3", 3)]
    [InlineData("2^0.5", "exponent must be an integer", 1)]
    [InlineData("2^100000", "exponent beyond -10000..10000", 1)]
    [InlineData("10^9999", "a value with more than 8192 bits", 2)]
    [InlineData("1.", "malformed number '1.'", 0)]
    public void Refuses_what_is_not_arithmetic_saying_what_and_where(string expression, string message, int position)
    {
        var e = Assert.Throws<CalculatorException>(() => Calculator.Evaluate(expression));
        Assert.Equal(message, e.Message);
        Assert.Equal(position, e.Position);
    }

    [Fact]
    public void Hostile_expressions_are_refused_by_the_limits_not_by_running_out_of_memory_or_stack()
    {
        Assert.Contains("nested deeper than 64", Assert.Throws<CalculatorException>(() => Calculator.Evaluate(new string('(', 65) + "1" + new string(')', 65))).Message);
        Assert.Contains("nested deeper than 64", Assert.Throws<CalculatorException>(() => Calculator.Evaluate(new string('-', 100) + "1")).Message);
        Assert.Contains("longer than 512", Assert.Throws<CalculatorException>(() => Calculator.Evaluate(string.Join("+", Enumerable.Repeat("1", 300)))).Message);
        Assert.Contains("more than 100 digits", Assert.Throws<CalculatorException>(() => Calculator.Evaluate(new string('9', 101))).Message);
        // Squaring repeatedly grows past the bit limit long before the length limit.
        Assert.Contains("more than 8192 bits", Assert.Throws<CalculatorException>(() => Calculator.Evaluate("((((((99^99)^9)^9)^9)^9)^9)")).Message);
        Assert.Equal("64", Calculator.Evaluate(new string('(', 64) + "64" + new string(')', 64)));
    }

    [PythonTorchFact]
    public void Random_expressions_equal_python_fractions_evaluated_by_pythons_own_parser()
    {
        var random = new SplitMix64(20261206);
        var expressions = Enumerable.Range(0, 400).Select(_ => Expression(random, 0)).ToList();
        var response = PythonTorch.RunJson(TestData.Fixture(Path.Combine("utilization", "fraction_reference.py")),
            new JsonObject { ["expressions"] = new JsonArray(expressions.Select(e => (JsonNode)e).ToArray()) });
        var values = response["values"]!.AsArray();
        int checkedValues = 0;
        for (int i = 0; i < expressions.Count; i++)
        {
            if (values[i] is null)
            {
                Assert.Equal("division by zero", Assert.Throws<CalculatorException>(() => Calculator.EvaluateExact(expressions[i])).Message);
                continue;
            }
            var expected = (BigInteger.Parse(values[i]![0]!.GetValue<string>(), CultureInfo.InvariantCulture), BigInteger.Parse(values[i]![1]!.GetValue<string>(), CultureInfo.InvariantCulture));
            Assert.True(expected == Calculator.EvaluateExact(expressions[i]), expressions[i]);
            checkedValues++;
        }
        Assert.True(checkedValues > 300, $"only {checkedValues} expressions had a value");
    }

    // A random expression in the syntax Python shares with the calculator: decimal literals, + - * / **, unary minus, parentheses.
    static string Expression(SplitMix64 random, int depth)
    {
        if (depth >= 3 || random.NextLong(3) == 0)
            return random.NextLong(4) == 0 ? $"{random.NextLong(100)}.{random.NextLong(100):D2}" : random.NextLong(1000).ToString(CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        switch (random.NextLong(6))
        {
            case 0: sb.Append($"({Expression(random, depth + 1)})"); break;
            case 1: sb.Append($"-{Expression(random, depth + 1)}"); break;
            case 2: sb.Append($"({Expression(random, depth + 1)}) ** {(long)random.NextLong(7) - 3}"); break; // a bracketed base keeps every exponent an integer
            default: sb.Append($"{Expression(random, depth + 1)} {"+-*/"[(int)random.NextLong(4)]} {Expression(random, depth + 1)}"); break;
        }
        return sb.ToString();
    }

    [Fact]
    public async Task As_a_tool_it_answers_through_the_AIFunction_and_returns_errors_as_observations()
    {
        AIFunction tool = CalculatorTool.Create();
        Assert.Equal("calculator", tool.Name);
        Assert.Contains("expression", tool.JsonSchema.GetRawText());
        Assert.Equal("7006652", (await tool.InvokeAsync(new AIFunctionArguments { ["expression"] = "1234 * 5678" }))?.ToString());
        Assert.Equal("error: division by zero", (await tool.InvokeAsync(new AIFunctionArguments { ["expression"] = "1/0" }))?.ToString());
    }
}
