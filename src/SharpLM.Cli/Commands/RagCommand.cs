using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using SharpLM.Runtime;
using SharpLM.Utilization.Retrieval;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm rag index|search`: a BM25 index over a folder of documents, and what it retrieves for a query.</summary>
public static class RagCommand
{
    public static Command Create() => new("rag", "Retrieval: index a folder of .txt/.md documents with BM25 and search it.")
    {
        Index(), Search(),
    };

    static Command Index()
    {
        var docs = new Option<string>("--docs") { Description = "Folder of .txt and .md documents (searched recursively).", Required = true };
        var output = new Option<string>("--out") { Description = "The index file to write (JSON).", Required = true };
        var defaults = new Bm25Options();
        var words = new Option<int>("--chunk-words") { Description = "Words per chunk.", DefaultValueFactory = _ => defaults.ChunkWords };
        var overlap = new Option<int>("--overlap-words") { Description = "Words a chunk repeats from the one before.", DefaultValueFactory = _ => defaults.OverlapWords };
        var command = new Command("index", "Chunk every document and build a BM25 index.") { docs, output, words, overlap };
        command.SetAction(parse =>
        {
            var sw = Stopwatch.StartNew();
            var index = Bm25Index.BuildFromFolder(parse.GetValue(docs)!, new Bm25Options { ChunkWords = parse.GetValue(words), OverlapWords = parse.GetValue(overlap) });
            index.Save(parse.GetValue(output)!);
            int documents = index.Chunks.Select(c => c.Document).Distinct().Count();
            Console.WriteLine($"indexed {documents:N0} documents as {index.Chunks.Count:N0} chunks in {sw.Elapsed.TotalSeconds:F1} s → {parse.GetValue(output)}");
            return 0;
        });
        return command;
    }

    static Command Search()
    {
        var indexFile = new Option<string>("--index") { Description = "An index from `rag index`.", Required = true };
        var query = new Option<string>("--query") { Description = "What to look for.", Required = true };
        var k = new Option<int>("--k") { Description = "Chunks returned.", DefaultValueFactory = _ => 5 };
        var command = new Command("search", "Print the best-scoring chunks as JSON lines: citation, score, text.") { indexFile, query, k };
        command.SetAction(parse =>
        {
            if (parse.GetValue(k) < 1) throw new InvalidInputException("--k: must be at least 1");
            var index = Bm25Index.Load(parse.GetValue(indexFile)!);
            foreach (var hit in index.Search(parse.GetValue(query)!, parse.GetValue(k)))
                Console.WriteLine(JsonSerializer.Serialize(new { citation = hit.Chunk.Citation, score = Math.Round(hit.Score, 6), text = hit.Chunk.Text }, Json.Line));
            return 0;
        });
        return command;
    }
}
