using System.CommandLine;
using SharpLM.Utilization.Tools;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm mcp serve`: SharpLM's tools for any Model Context Protocol host, over stdin/stdout.</summary>
public static class McpCommand
{
    public static Command Create()
    {
        var tools = new Option<string>("--tools") { Description = "Comma-separated: calculator, python, retrieval:INDEX.", DefaultValueFactory = _ => CalculatorTool.Name };
        var serve = new Command("serve", "Serve tools over MCP on stdin/stdout until stdin closes (point an MCP host's stdio server entry at this command).") { tools };
        serve.SetAction(async (parse, cancel) =>
        {
            var functions = ToolRegistry.Split(parse.GetValue(tools)!).Select(ToolRegistry.Create).ToList();
            await McpToolServer.RunAsync(functions, cancel);
            return 0;
        });
        return new Command("mcp", "Model Context Protocol.") { serve };
    }
}
