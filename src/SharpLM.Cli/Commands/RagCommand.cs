using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.AI;
using SharpLM.Runtime;
using SharpLM.Utilization.Retrieval;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm rag index|search|ask`: a BM25 index over a folder of documents, what it retrieves for a query, and a model's answer from it.</summary>
public static class RagCommand
{
    public static Command Create() => new("rag", "Retrieval: index a folder of .txt/.md documents with BM25, search it, and answer from it.")
    {
        Index(), Search(), Ask(),
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

    static Command Ask()
    {
        var indexFile = new Option<string>("--index") { Description = "An index from `rag index`.", Required = true };
        var question = new Option<string>("--question") { Description = "The question.", Required = true };
        var chat = new ChatClientOptions();
        var k = new Option<int>("--k") { Description = "Passages put in the prompt.", DefaultValueFactory = _ => 3 };
        var maxTokens = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 128 };
        var command = new Command("ask", "Answer a question from the passages the index retrieves for it, citing them; prints the answer, then the passages given.")
        {
            indexFile, question, k, maxTokens,
        };
        chat.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            if (parse.GetValue(k) < 1) throw new InvalidInputException("--k: must be at least 1");
            var index = Bm25Index.Load(parse.GetValue(indexFile)!);
            using IChatClient client = chat.Open(parse);
            var rag = new RetrievalAugmentation(index, client) { K = parse.GetValue(k) };
            var answer = await rag.AskAsync(parse.GetValue(question)!, new ChatOptions { Temperature = 0, MaxOutputTokens = parse.GetValue(maxTokens) }, cancel);
            Console.WriteLine(answer.Answer);
            Console.WriteLine();
            foreach (var p in answer.Passages)
                Console.WriteLine($"{(answer.Cited.Contains(p) ? "cited" : "given")} [{p.Chunk.Citation}] score {p.Score:F3}");
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
