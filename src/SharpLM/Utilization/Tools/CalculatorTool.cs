using System.ComponentModel;
using Microsoft.Extensions.AI;

namespace SharpLM.Utilization.Tools;

/// <summary>
/// <see cref="Calculator"/> as a tool in Microsoft.Extensions.AI's convention (an <see cref="AIFunction"/> that a
/// function-invoking chat client calls when a model asks for it). A malformed expression is not an exception: the
/// model gets "error: …" back as the observation and can try again, as a ReAct loop expects.
/// </summary>
public static class CalculatorTool
{
    /// <summary>The tool's name in tool calls.</summary>
    public const string Name = "calculator";

    /// <summary>What the model is told about the tool.</summary>
    public const string Description = "Evaluates an arithmetic expression exactly: + - * / ^ and parentheses on decimal numbers, e.g. (12.5 + 3) * 4 / 7.";

    /// <summary>The tool for <c>ChatOptions.Tools</c>.</summary>
    public static AIFunction Create() =>
        AIFunctionFactory.Create(([Description("The arithmetic expression, e.g. 1234 * 5678")] string expression) => Call(expression), Name, Description);

    /// <summary>The observation for a call: the value, or "error: " and why.</summary>
    public static string Call(string expression)
    {
        try
        {
            return Calculator.Evaluate(expression ?? "");
        }
        catch (CalculatorException e)
        {
            return "error: " + e.Message;
        }
    }
}
