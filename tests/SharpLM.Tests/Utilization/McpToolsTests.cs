using Microsoft.Extensions.AI;
using SharpLM.Utilization.Agents;
using SharpLM.Utilization.Tools;

namespace SharpLM.Tests.Utilization;

/// <summary>Tools from a real MCP server process: `sharplm mcp serve`, started over stdio by the client.</summary>
public class McpToolsTests
{
    static string Server(string tools = "calculator") => $"dotnet \"{Path.Combine(AppContext.BaseDirectory, "SharpLM.Cli.dll")}\" mcp serve --tools {tools}";

    [Fact]
    public async Task An_agent_calls_a_tool_of_a_real_MCP_server_process()
    {
        await using var tools = await ToolRegistry.OpenAsync(ToolRegistry.Split("mcp:" + Server()));
        var calculator = Assert.Single(tools.Tools);
        Assert.Equal("calculator", calculator.Name);
        Assert.Contains("expression", calculator.JsonSchema.GetRawText()); // the schema as the server gives it

        var model = ScriptedChatClient.Steps("Action: calculator[1234 * 5678]", "Final Answer: 7006652");
        var result = await new ReActAgent(model, tools.Tools).RunAsync("What is 1234 * 5678?");
        Assert.Equal("7006652", result.Steps[0].Observation);
        Assert.Equal("7006652", result.Answer);
        // The tool's own errors come back as its answer, as in-process.
        Assert.Equal("error: division by zero", (await calculator.InvokeAsync(new AIFunctionArguments { ["expression"] = "1/0" }))?.ToString());
    }

    [Fact]
    public async Task A_server_that_dies_fails_its_calls_with_one_line_naming_it()
    {
        // timeout(1) stops the server after a few seconds, as a crash would.
        await using var tools = await McpTools.StartAsync("timeout 4 " + Server());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal("7", (await tools.Tools[0].InvokeAsync(new AIFunctionArguments { ["expression"] = "3+4" }))?.ToString());
        await Task.Delay(TimeSpan.FromSeconds(5) - clock.Elapsed);
        var e = await Assert.ThrowsAnyAsync<Exception>(async () => await tools.Tools[0].InvokeAsync(new AIFunctionArguments { ["expression"] = "3+4" }));
        Assert.StartsWith("mcp server 'timeout 4 dotnet", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("definitely-not-a-command-5e1f")]
    [InlineData("sh -c \"exit 3\"")]
    public async Task A_server_that_does_not_start_is_a_one_line_error(string command)
    {
        var e = await Assert.ThrowsAsync<InvalidInputException>(() => ToolRegistry.OpenAsync(["mcp:" + command]));
        Assert.StartsWith($"mcp server '{command}': could not start it", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Tool_lists_split_at_commas_except_inside_an_mcp_command()
    {
        Assert.Equal(["calculator", "retrieval:idx.json", "mcp:dotnet x.dll mcp serve --tools calculator,retrieval:a"],
            ToolRegistry.Split(" calculator, retrieval:idx.json ,mcp:dotnet x.dll mcp serve --tools calculator,retrieval:a"));
        Assert.Equal(["dotnet", "/my path/x.dll", "mcp"], McpTools.SplitCommandLine("dotnet \"/my path/x.dll\" mcp"));
        Assert.Throws<InvalidInputException>(() => McpTools.SplitCommandLine("a \"b"));
        Assert.Throws<InvalidInputException>(() => ToolRegistry.Create("telepathy"));
    }
}
