using Microsoft.Extensions.AI;
using SharpLM.Sandbox;
using SharpLM.Tests.Evaluation.CodeExecution;
using SharpLM.Utilization.Agents;
using SharpLM.Utilization.Tools;

namespace SharpLM.Tests.Utilization;

public class PythonToolTests
{
    [Fact]
    public async Task The_model_runs_python_in_the_sandbox_and_reads_what_it_printed_or_its_error()
    {
        var sandbox = await CodeSandbox.CreateAsync(CodeSandboxTests.Strongest);
        Assert.Equal("3628800", await PythonTool.RunAsync(sandbox, "import math\nprint(math.factorial(10))"));
        Assert.Equal("error: ZeroDivisionError: division by zero", await PythonTool.RunAsync(sandbox, "1/0"));
        Assert.Equal("error: NameError: name 'x' is not defined\noutput before it: partial", await PythonTool.RunAsync(sandbox, "print('partial')\nprint(x)"));
        Assert.StartsWith("(the program printed nothing", await PythonTool.RunAsync(sandbox, "y = 2 + 2"));
        var slow = await CodeSandbox.CreateAsync(CodeSandboxTests.Strongest with { Timeout = TimeSpan.FromMilliseconds(500) });
        Assert.StartsWith("error: the program ran past 0.5 s", await PythonTool.RunAsync(slow, "while True: pass"));
        string longOutput = await PythonTool.RunAsync(sandbox, "print('x' * 5000)");
        Assert.EndsWith("… (3000 more characters)", longOutput);
    }

    [Fact]
    public async Task An_agent_calls_the_python_tool_through_the_registry()
    {
        var tool = ToolRegistry.Create("python");
        Assert.Equal("python", tool.Name);
        Assert.Contains("code", tool.JsonSchema.GetRawText());
        var levels = await CodeSandbox.AvailableIsolationAsync();
        var model = ScriptedChatClient.Steps("Action: python[print(sum(range(101)))]", "Final Answer: 5050");
        var result = await new ReActAgent(model, [tool]).RunAsync("Sum 0..100?");
        // The registry's tool insists on bubblewrap: where it does not work, the call says so and nothing runs.
        if (levels.Any(l => l.Level == IsolationLevel.Bubblewrap)) Assert.Equal("5050", result.Steps[0].Observation);
        else Assert.StartsWith("error: python failed: ", result.Steps[0].Observation);
        Assert.Equal("5050", result.Answer);
    }
}
