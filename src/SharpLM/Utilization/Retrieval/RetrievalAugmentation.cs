using Microsoft.Extensions.AI;

namespace SharpLM.Utilization.Retrieval;

/// <summary>A retrieval-augmented answer: what the model said, the passages it was given, and the prompt it saw.</summary>
public sealed record RagAnswer(string Answer, IReadOnlyList<SearchHit> Passages, string Prompt)
{
    /// <summary>The passages the answer cites as [document#index], in the order it cites them first.</summary>
    public IReadOnlyList<SearchHit> Cited => Passages
        .Select(p => (Hit: p, At: Answer.IndexOf($"[{p.Chunk.Citation}]", StringComparison.Ordinal)))
        .Where(x => x.At >= 0).OrderBy(x => x.At).Select(x => x.Hit).ToList();
}

/// <summary>
/// Retrieval augmentation (Lewis et al. 2020's recipe at its simplest): the k chunks of a <see cref="Bm25Index"/> that
/// best match a question go into the prompt, each under its citation, with an instruction to answer from them and cite
/// what was used; any <see cref="IChatClient"/> answers (a SharpLM checkpoint, or an OpenAI-compatible server).
/// </summary>
public sealed class RetrievalAugmentation(Bm25Index index, IChatClient client)
{
    /// <summary>Passages put in the prompt.</summary>
    public int K { get; init; } = 3;

    /// <summary>What the model is told before the passages.</summary>
    public string Instruction { get; init; } = "Answer the question using only the passages below. After the answer, cite the passage you used, like [file.txt#0].";

    /// <summary>The user message for <paramref name="question"/> with these passages: instruction, "[citation] text" per passage, question.</summary>
    public string Prompt(string question, IReadOnlyList<SearchHit> passages) =>
        Instruction + "\n\n" + string.Concat(passages.Select(p => $"[{p.Chunk.Citation}] {p.Chunk.Text}\n\n")) + "Question: " + question;

    /// <summary>Retrieves, asks and returns the answer with its passages.</summary>
    public async Task<RagAnswer> AskAsync(string question, ChatOptions? options = null, CancellationToken cancellation = default)
    {
        var passages = index.Search(question, K);
        string prompt = Prompt(question, passages);
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, prompt)], options, cancellation);
        return new RagAnswer(response.Text.Trim(), passages, prompt);
    }
}
