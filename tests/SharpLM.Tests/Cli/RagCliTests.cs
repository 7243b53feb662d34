using System.Text.Json;

namespace SharpLM.Tests.Cli;

public class RagCliTests
{
    [Fact]
    public void Rag_index_then_search_prints_cited_chunks_best_first_as_json_lines()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("docs"));
        File.WriteAllText(dir.File("docs/zorblax.txt"), "The zorblax is a small blue bird that nests in the Quarry Hills. It sings at dawn.");
        File.WriteAllText(dir.File("docs/other.md"), "Quarry Hills are known for granite. Nothing else nests there.");
        var indexed = CliProcess.Run("rag", "index", "--docs", dir.File("docs"), "--out", dir.File("index.json"));
        Assert.Equal(0, indexed.ExitCode);
        Assert.Contains("indexed 2 documents as 2 chunks", indexed.Stdout);

        var found = CliProcess.Run("rag", "search", "--index", dir.File("index.json"), "--query", "Where in the Quarry Hills does the zorblax nest?", "--k", "2");
        Assert.Equal(0, found.ExitCode);
        var hits = found.Stdout.Trim().Split('\n').Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(["zorblax.txt#0", "other.md#0"], hits.Select(h => h.GetProperty("citation").GetString()));
        Assert.True(hits[0].GetProperty("score").GetDouble() > hits[1].GetProperty("score").GetDouble());
        Assert.Contains("Quarry Hills", hits[0].GetProperty("text").GetString());
    }

    [Fact]
    public void Rag_search_of_a_file_that_is_not_an_index_fails_with_one_line_naming_it()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("notes.json"), "[1, 2");
        var result = CliProcess.Run("rag", "search", "--index", dir.File("notes.json"), "--query", "x");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("notes.json: not a BM25 index", result.Stderr);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }
}
