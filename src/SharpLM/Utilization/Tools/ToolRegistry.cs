using Microsoft.Extensions.AI;
using SharpLM.Utilization.Retrieval;

namespace SharpLM.Utilization.Tools;

/// <summary>The built-in tools by name, in one place for the CLI and the library: "calculator", and "retrieval:INDEX" (a BM25 index from `sharplm rag index`).</summary>
public static class ToolRegistry
{
    /// <summary>The tool specifications <see cref="Create"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Specs = [CalculatorTool.Name, "retrieval:INDEX"];

    /// <summary>The tool a specification names.</summary>
    /// <exception cref="InvalidInputException">An unknown tool, or an index that cannot be read.</exception>
    public static AIFunction Create(string spec)
    {
        if (spec == CalculatorTool.Name) return CalculatorTool.Create();
        if (spec.StartsWith("retrieval:", StringComparison.Ordinal)) return Retrieval(Bm25Index.Load(spec["retrieval:".Length..]));
        throw new InvalidInputException($"unknown tool '{spec}' (one of: {string.Join(", ", Specs)})");
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
