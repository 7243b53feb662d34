using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace SharpLM.Utilization.Reasoning;

/// <summary>A least-to-most run: the subquestions the model chose, each with its answer, and the final answer.</summary>
public sealed record LeastToMostResult(IReadOnlyList<(string Question, string Answer)> Steps, string Answer);

/// <summary>
/// Least-to-most prompting (Zhou et al. 2023): first the model decomposes the question ("To answer "…", we need to
/// first answer: "…", then "…"."), then it answers the subquestions in order, each answer staying in the context of the
/// next, and the last subquestion is the question itself. Over any <see cref="IChatClient"/>, with the demonstrations
/// of each stage given by the caller, as in the paper.
/// </summary>
public sealed partial class LeastToMost(IChatClient client)
{
    /// <summary>Decomposition demonstrations, each "Q: …\nA: To answer "…", we need to first answer: "…", then "…"." (may be empty).</summary>
    public string DecompositionExamples { get; init; } = "";
    /// <summary>Solution demonstrations: a question, then its subquestions answered in turn as "Q: …\nA: …" (may be empty).</summary>
    public string SolutionExamples { get; init; } = "";
    /// <summary>Most subquestions used (the question itself included).</summary>
    public int MaxSubquestions { get; init; } = 6;
    /// <summary>Sampling of both stages (temperature 0 by default).</summary>
    public ChatOptions Options { get; init; } = new() { Temperature = 0, MaxOutputTokens = 160, StopSequences = ["\n\n"] };

    [GeneratedRegex("\"([^\"]+)\"")]
    private static partial Regex Quoted();

    /// <summary>The decomposition prompt for <paramref name="question"/>.</summary>
    public string DecompositionPrompt(string question) =>
        Prefix(DecompositionExamples) + $"Q: {question}\nA: To answer \"{question}\", we need to first answer:";

    /// <summary>The subquestions of the model's decomposition, in order, ending with the question itself.</summary>
    public IReadOnlyList<string> Subquestions(string question, string decomposition)
    {
        var subquestions = Quoted().Matches(decomposition).Select(m => m.Groups[1].Value.Trim())
            .Where(q => q.Length > 0 && q != question).Distinct().Take(MaxSubquestions - 1).ToList();
        subquestions.Add(question);
        return subquestions;
    }

    /// <summary>Decomposes <paramref name="question"/>, then answers its subquestions in order.</summary>
    public async Task<LeastToMostResult> SolveAsync(string question, CancellationToken cancellation = default)
    {
        string decomposition = (await client.GetResponseAsync([new ChatMessage(ChatRole.User, DecompositionPrompt(question))], Options, cancellation)).Text;
        var context = new StringBuilder(Prefix(SolutionExamples)).Append(question);
        var steps = new List<(string, string)>();
        foreach (string sub in Subquestions(question, decomposition))
        {
            context.Append($"\n\nQ: {sub}\nA:");
            string answer = (await client.GetResponseAsync([new ChatMessage(ChatRole.User, context.ToString())], Options, cancellation)).Text.Trim();
            context.Append(' ').Append(answer);
            steps.Add((sub, answer));
        }
        return new LeastToMostResult(steps, steps[^1].Item2);
    }

    static string Prefix(string examples) => examples.Length == 0 ? "" : examples.TrimEnd() + "\n\n";
}
