using Microsoft.Extensions.AI;
using SharpLM.Utilization.Retrieval;

namespace SharpLM.Utilization.Tools;

/// <summary>
/// The built-in tools by name, in one place for the CLI and the library: "calculator", "python" (programs run in the
/// sandbox), "retrieval:INDEX" (a BM25 index from `sharplm rag index`) and "mcp:COMMAND" (every tool of an MCP server
/// started with COMMAND).
/// </summary>
public static class ToolRegistry
{
    const string RetrievalPrefix = "retrieval:", McpPrefix = "mcp:";

    /// <summary>The tool specifications <see cref="OpenAsync"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Specs = [CalculatorTool.Name, PythonTool.Name, RetrievalPrefix + "INDEX", McpPrefix + "COMMAND"];

    /// <summary>
    /// A comma-separated list of specifications, split: an "mcp:" item takes the rest of the text, commas included,
    /// since a server's command line may contain them.
    /// </summary>
    public static IReadOnlyList<string> Split(string specs)
    {
        var result = new List<string>();
        string rest = specs;
        while (rest.Length > 0)
        {
            rest = rest.TrimStart();
            if (rest.StartsWith(McpPrefix, StringComparison.Ordinal)) { result.Add(rest.Trim()); break; }
            int comma = rest.IndexOf(',');
            string item = (comma < 0 ? rest : rest[..comma]).Trim();
            if (item.Length > 0) result.Add(item);
            rest = comma < 0 ? "" : rest[(comma + 1)..];
        }
        return result;
    }

    /// <summary>The tool a specification names, for those that start no server (calculator, python, retrieval).</summary>
    /// <exception cref="InvalidInputException">An unknown tool, an "mcp:" specification, or an index that cannot be read.</exception>
    public static AIFunction Create(string spec)
    {
        if (spec == CalculatorTool.Name) return CalculatorTool.Create();
        if (spec == PythonTool.Name) return PythonTool.Create();
        if (spec.StartsWith(RetrievalPrefix, StringComparison.Ordinal)) return Retrieval(Bm25Index.Load(spec[RetrievalPrefix.Length..]));
        if (spec.StartsWith(McpPrefix, StringComparison.Ordinal)) throw new InvalidInputException($"tool '{spec}': an MCP server is started by OpenAsync");
        throw new InvalidInputException($"unknown tool '{spec}' (one of: {string.Join(", ", Specs)})");
    }

    /// <summary>Every tool the specifications name, MCP servers started; dispose the set to stop them.</summary>
    /// <exception cref="InvalidInputException">An unknown tool, an index that cannot be read, or an MCP server that does not start.</exception>
    public static async Task<ToolSet> OpenAsync(IEnumerable<string> specs, TimeSpan? callTimeout = null, CancellationToken cancellation = default)
    {
        var set = new ToolSet();
        try
        {
            foreach (string spec in specs)
            {
                if (!spec.StartsWith(McpPrefix, StringComparison.Ordinal)) { set.Add(Create(spec)); continue; }
                var server = await McpTools.StartAsync(spec[McpPrefix.Length..], callTimeout, cancellation);
                set.Add(server);
            }
            return set;
        }
        catch
        {
            await set.DisposeAsync();
            throw;
        }
    }

    /// <summary>A search over <paramref name="index"/>: the best <paramref name="k"/> passages, each under its citation.</summary>
    public static AIFunction Retrieval(Bm25Index index, int k = 3) => AIFunctionFactory.Create(
        (string query) =>
        {
            var hits = index.Search(query, k);
            return hits.Count == 0 ? "no passage matches" : string.Join("\n", hits.Select(h => $"[{h.Chunk.Citation}] {h.Chunk.Text}"));
        },
        "retrieval", "Searches the indexed documents and returns the best passages with their citations.");
}

/// <summary>Tools opened by <see cref="ToolRegistry.OpenAsync"/>, and the MCP servers behind some of them.</summary>
public sealed class ToolSet : IAsyncDisposable
{
    readonly List<AIFunction> tools = [];
    readonly List<McpTools> servers = [];

    /// <summary>Every tool, in the order named.</summary>
    public IReadOnlyList<AIFunction> Tools => tools;

    internal void Add(AIFunction tool)
    {
        if (tools.Any(t => t.Name == tool.Name)) throw new InvalidInputException($"two tools are named '{tool.Name}'");
        tools.Add(tool);
    }

    internal void Add(McpTools server)
    {
        servers.Add(server);
        foreach (var tool in server.Tools) Add(tool);
    }

    /// <summary>Stops the MCP servers.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var server in servers) await server.DisposeAsync();
    }
}
