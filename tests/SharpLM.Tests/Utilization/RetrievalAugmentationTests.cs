using Microsoft.Extensions.AI;
using SharpLM.Tests.Cli;
using SharpLM.Utilization.Retrieval;

namespace SharpLM.Tests.Utilization;

public class RetrievalAugmentationTests
{
    /// <summary>Answers "In the Quarry Hills." and cites the passage of the prompt that says where the zorblax nests.</summary>
    static ScriptedChatClient Reader() => new(prompt =>
    {
        var passage = prompt.Split("\n\n").First(p => p.StartsWith('[') && p.Contains("zorblax nests"));
        return $" In the Quarry Hills. [{passage[1..passage.IndexOf(']')]}]\n";
    });

    static Bm25Index Library() => Bm25Index.Build(
    [
        ("birds.txt", "The zorblax nests in the Quarry Hills and sings at dawn."),
        ("rocks.txt", "The Quarry Hills are granite."),
        ("cooking.txt", "Bread needs flour, water and salt."),
    ]);

    [Fact]
    public async Task The_best_passages_go_into_the_prompt_under_their_citations_and_the_answer_cites_them()
    {
        var reader = Reader();
        var rag = new RetrievalAugmentation(Library(), reader) { K = 2 };
        var options = new ChatOptions { Temperature = 0 };
        var answer = await rag.AskAsync("Where does the zorblax nest?", options);
        Assert.Equal("In the Quarry Hills. [birds.txt#0]", answer.Answer);
        Assert.Equal(["birds.txt#0", "rocks.txt#0"], answer.Passages.Select(p => p.Chunk.Citation));
        Assert.Equal(["birds.txt#0"], answer.Cited.Select(p => p.Chunk.Citation));
        Assert.Same(options, Assert.Single(reader.Seen).Options);
        Assert.Equal(answer.Prompt, reader.Seen[0].Prompt);
        Assert.StartsWith(rag.Instruction + "\n\n[birds.txt#0] The zorblax nests", answer.Prompt);
        Assert.Contains("\n\n[rocks.txt#0] The Quarry Hills are granite.\n\n", answer.Prompt);
        Assert.DoesNotContain("Bread", answer.Prompt);
        Assert.EndsWith("Question: Where does the zorblax nest?", answer.Prompt);
    }

    [Fact]
    public void Rag_ask_needs_exactly_one_model()
    {
        using var dir = new TempDirectory();
        Library().Save(dir.File("index.json"));
        var neither = CliProcess.Run("rag", "ask", "--index", dir.File("index.json"), "--question", "Where?");
        Assert.NotEqual(0, neither.ExitCode);
        Assert.Contains("give exactly one of --checkpoint and --openai", neither.Stderr);
        var both = CliProcess.Run("rag", "ask", "--index", dir.File("index.json"), "--question", "Where?", "--checkpoint", dir.Path, "--openai", "http://127.0.0.1:9/v1");
        Assert.Contains("give exactly one of --checkpoint and --openai", both.Stderr);
    }
}
