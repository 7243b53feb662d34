using System.Text.Json;
using Microsoft.Extensions.AI;
using SharpLM.Utilization.Agents;
using SharpLM.Utilization.Tools;

namespace SharpLM.Tests.Utilization;

public class ReActAgentTests
{
    [Fact]
    public async Task The_model_calls_the_calculator_reads_the_observation_and_answers()
    {
        using var dir = new TempDirectory();
        var model = ScriptedChatClient.Steps("Thought: I should multiply.\nAction: calculator[1234 * 5678]", "Thought: I know it.\nFinal Answer: 7006652\nThanks!");
        var agent = new ReActAgent(model, [CalculatorTool.Create()]) { TracePath = dir.File("trace.jsonl") };
        var result = await agent.RunAsync("What is 1234 * 5678?");
        Assert.Equal("7006652", result.Answer);
        Assert.Equal(2, result.Steps.Count);
        Assert.Equal(0, result.MalformedSteps);
        Assert.Equal(("calculator", "1234 * 5678", "7006652"), (result.Steps[0].Action, result.Steps[0].Input, result.Steps[0].Observation));
        Assert.Equal("I should multiply.", result.Steps[0].Thought);
        // The second call sees the first step and its observation; every call stops before the model invents one.
        Assert.EndsWith("Question: What is 1234 * 5678?\nThought: I should multiply.\nAction: calculator[1234 * 5678]\nObservation: 7006652\n", model.Seen[1].Prompt);
        Assert.StartsWith(agent.Preamble(), model.Seen[0].Prompt);
        Assert.Contains("calculator: Evaluates an arithmetic expression", model.Seen[0].Prompt);
        Assert.All(model.Seen, s => Assert.Contains("Observation:", s.Options!.StopSequences!));
        var trace = File.ReadAllLines(dir.File("trace.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([1, 2], trace.Select(t => t.GetProperty("step").GetInt32()));
        Assert.Equal("7006652", trace[0].GetProperty("observation").GetString());
    }

    [Fact]
    public async Task Mistakes_become_observations_the_model_can_recover_from()
    {
        var model = ScriptedChatClient.Steps("Action: calculate[2+2]", "I am not sure what to do", "Thought: try.\nAction: calculator[2+]\nThought: and wait", "Final Answer: 4");
        var result = await new ReActAgent(model, [CalculatorTool.Create()]).RunAsync("2+2?");
        Assert.Equal("4", result.Answer);
        Assert.Equal(2, result.MalformedSteps);
        Assert.Equal("error: there is no tool 'calculate' (tools: calculator)", result.Steps[0].Observation);
        Assert.StartsWith("error: write 'Action: tool[input]'", result.Steps[1].Observation);
        Assert.Equal("error: expression ends where a number was expected", result.Steps[2].Observation); // the tool's own error, not malformed
        Assert.False(result.Steps[2].Malformed);
    }

    [Fact]
    public async Task A_failing_tool_is_an_observation_and_the_step_budget_ends_a_run_without_an_answer()
    {
        Func<string, string> search = query => throw new IOException("disk on fire\nmore");
        var broken = AIFunctionFactory.Create(search, "search", "Searches.");
        var model = ScriptedChatClient.Steps("Action: search[cats]");
        var result = await new ReActAgent(model, [broken]) { MaxSteps = 3 }.RunAsync("Cats?");
        Assert.Null(result.Answer);
        Assert.Equal(3, result.Steps.Count);
        Assert.Equal("error: search failed: disk on fire", result.Steps[0].Observation);
        Assert.Equal(3, model.Seen.Count);
    }

    [Fact]
    public async Task A_tool_that_outlasts_its_timeout_is_an_observation_and_the_run_goes_on()
    {
        Func<string, CancellationToken, Task<string>> slow = async (query, cancellation) => { await Task.Delay(TimeSpan.FromSeconds(30), cancellation); return "late"; };
        var model = ScriptedChatClient.Steps("Action: slow[x]", "Final Answer: gave up");
        var result = await new ReActAgent(model, [AIFunctionFactory.Create(slow, "slow", "Takes its time.")]) { ToolTimeout = TimeSpan.FromMilliseconds(200) }.RunAsync("?");
        Assert.Equal("error: slow gave no result within 0.2 s", result.Steps[0].Observation);
        Assert.Equal("gave up", result.Answer);
    }
}

public class AgentCliTests
{
    [Fact]
    public void Agent_refuses_an_unknown_tool_and_a_missing_model_in_one_line()
    {
        var unknown = SharpLM.Tests.Cli.CliProcess.Run("agent", "--question", "2+2?", "--tools", "calculator,teleporter", "--openai", "http://127.0.0.1:9/v1");
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Equal("error: unknown tool 'teleporter' (one of: calculator, python, retrieval:INDEX, mcp:COMMAND)", unknown.Stderr.Trim());
        var noModel = SharpLM.Tests.Cli.CliProcess.Run("agent", "--question", "2+2?");
        Assert.Contains("agent: give exactly one of --checkpoint and --openai", noModel.Stderr);
        var badUrl = SharpLM.Tests.Cli.CliProcess.Run("agent", "--question", "2+2?", "--openai", "file:///etc/passwd");
        Assert.Contains("--openai: 'file:///etc/passwd' is not an http(s) URL", badUrl.Stderr);
    }
}
