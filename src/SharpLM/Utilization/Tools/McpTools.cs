using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace SharpLM.Utilization.Tools;

/// <summary>
/// The tools of a Model Context Protocol server started as a child process (stdio transport), as
/// <see cref="AIFunction"/>s any agent or function-invoking chat client can call. A call returns the text of the
/// result's content blocks; a result the server marks as an error, a call that outlasts <c>callTimeout</c> and a server
/// that has died each fail with a one-line message naming the server, which an agent shows to the model as an observation.
/// </summary>
public sealed class McpTools : IAsyncDisposable
{
    readonly McpClient client;

    McpTools(McpClient client, string command, IReadOnlyList<AIFunction> tools) => (this.client, Command, Tools) = (client, command, tools);

    /// <summary>The command line the server was started with.</summary>
    public string Command { get; }

    /// <summary>The server's tools, with its names, descriptions and parameter schemas.</summary>
    public IReadOnlyList<AIFunction> Tools { get; }

    /// <summary>Starts <paramref name="commandLine"/> (split at spaces; double quotes group), performs the MCP handshake and lists the tools.</summary>
    /// <exception cref="InvalidInputException">The command is empty, cannot start, or does not answer as an MCP server.</exception>
    public static async Task<McpTools> StartAsync(string commandLine, TimeSpan? callTimeout = null, CancellationToken cancellation = default)
    {
        string[] words = SplitCommandLine(commandLine);
        if (words.Length == 0) throw new InvalidInputException("mcp: the server command is empty (mcp:COMMAND ARGS)");
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = words[0], Command = words[0], Arguments = words[1..], ShutdownTimeout = TimeSpan.FromSeconds(2),
        });
        McpClient client;
        try
        {
            using var startup = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            startup.CancelAfter(TimeSpan.FromSeconds(30));
            client = await McpClient.CreateAsync(transport, cancellationToken: startup.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellation.IsCancellationRequested)
        {
            throw new InvalidInputException($"mcp server '{commandLine}': could not start it or it did not answer the handshake: {InvalidInputException.FirstLine(e)}");
        }
        try
        {
            var listed = await client.ListToolsAsync(cancellationToken: cancellation);
            var timeout = callTimeout ?? TimeSpan.FromSeconds(30);
            return new McpTools(client, commandLine, listed.Select(t => (AIFunction)new ServerTool(t, commandLine, timeout)).ToArray());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await client.DisposeAsync();
            throw new InvalidInputException($"mcp server '{commandLine}': could not list its tools: {InvalidInputException.FirstLine(e)}");
        }
    }

    /// <summary>Words of a command line: spaces separate, double quotes keep spaces inside one word.</summary>
    internal static string[] SplitCommandLine(string commandLine)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool quoted = false, any = false;
        foreach (char c in commandLine)
        {
            if (c == '"') { quoted = !quoted; any = true; }
            else if (char.IsWhiteSpace(c) && !quoted)
            {
                if (any) words.Add(word.ToString());
                word.Clear();
                any = false;
            }
            else { word.Append(c); any = true; }
        }
        if (quoted) throw new InvalidInputException($"mcp: unclosed quote in '{commandLine}'");
        if (any) words.Add(word.ToString());
        return words.ToArray();
    }

    /// <summary>Stops the server.</summary>
    public ValueTask DisposeAsync() => client.DisposeAsync();

    /// <summary>One server tool: its schema as the server gives it, its result as text.</summary>
    sealed class ServerTool(McpClientTool tool, string server, TimeSpan timeout) : DelegatingAIFunction(tool)
    {
        protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
        {
            using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            call.CancelAfter(timeout);
            CallToolResult result;
            try
            {
                result = await tool.CallAsync(arguments.ToDictionary(a => a.Key, a => a.Value), cancellationToken: call.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"mcp server '{server}': {Name} gave no result within {timeout.TotalSeconds:0.#} s");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new InvalidOperationException($"mcp server '{server}': {Name} failed (has the server stopped?): {InvalidInputException.FirstLine(e)}", e);
            }
            string text = string.Join("\n", result.Content.Select(block => block is TextContentBlock t ? t.Text : JsonSerializer.Serialize(block)));
            if (result.IsError == true) throw new InvalidOperationException($"mcp server '{server}': {Name}: {text}");
            return text;
        }
    }
}

/// <summary>
/// SharpLM's tools served over MCP on stdin/stdout (`sharplm mcp serve`), so any MCP host (an IDE, a desktop
/// assistant, another agent) can use the calculator or a retrieval index. Nothing else may write to stdout meanwhile.
/// </summary>
public static class McpToolServer
{
    /// <summary>Serves <paramref name="tools"/> until stdin closes or <paramref name="cancellation"/> fires.</summary>
    public static async Task RunAsync(IEnumerable<AIFunction> tools, CancellationToken cancellation = default)
    {
        var options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "sharplm", Version = typeof(McpToolServer).Assembly.GetName().Version?.ToString() ?? "0" },
            ToolCollection = [],
        };
        foreach (var tool in tools) options.ToolCollection.Add(McpServerTool.Create(new TextResult(tool)));
        await using var server = McpServer.Create(new StdioServerTransport(options), options);
        await server.RunAsync(cancellation);
    }

    /// <summary>A function made by AIFunctionFactory returns its string as a JSON value, which the server would send
    /// quoted; a host should read the text itself.</summary>
    sealed class TextResult(AIFunction tool) : DelegatingAIFunction(tool)
    {
        protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
        {
            object? result = await base.InvokeCoreAsync(arguments, cancellationToken);
            return result is JsonElement { ValueKind: JsonValueKind.String } text ? text.GetString() : result;
        }
    }
}
