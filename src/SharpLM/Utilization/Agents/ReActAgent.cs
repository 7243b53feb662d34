using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using SharpLM.Runtime;

namespace SharpLM.Utilization.Agents;

/// <summary>One step of a ReAct run, as the trace records it.</summary>
/// <param name="Step">1-based.</param>
/// <param name="Thought">What the model wrote before its action (or its final answer).</param>
/// <param name="Action">The tool called, or null (a final answer, or nothing usable).</param>
/// <param name="Input">The tool's input.</param>
/// <param name="Observation">What the tool returned, or the error shown to the model instead.</param>
/// <param name="Malformed">Whether the model's step could not be read as an action or an answer.</param>
public sealed record AgentStep(int Step, string Thought, string? Action, string? Input, string? Observation, bool Malformed);

/// <summary>How a run ended: its answer (null if the budget ran out), every step, and how many steps were malformed.</summary>
public sealed record AgentResult(string? Answer, IReadOnlyList<AgentStep> Steps, int MalformedSteps, string Transcript);

/// <summary>
/// ReAct (Yao et al. 2023): the model alternates Thought, Action and Observation in plain text until it writes a final
/// answer. Each turn the whole transcript so far is sent to an <see cref="IChatClient"/> (a SharpLM checkpoint or an
/// OpenAI-compatible server), generation stops before "Observation:", and the last "Action: tool[input]" is run with
/// the named <see cref="AIFunction"/> (its first parameter gets the input); the result is appended as the observation.
/// A step that names no known tool, or cannot be read, gets "error: …" as its observation and counts as malformed —
/// the model sees its mistake and can recover; it never ends the run. The step budget bounds everything, and each
/// step can go to a JSONL trace. Everything the agent itself writes is ASCII, so a character-level model's tokenizer
/// can read it back.
/// </summary>
public sealed partial class ReActAgent(IChatClient client, IReadOnlyList<AIFunction> tools)
{
    /// <summary>Steps before the run gives up without an answer.</summary>
    public int MaxSteps { get; init; } = 6;
    /// <summary>Sampling for each step (temperature 0 by default).</summary>
    public ChatOptions Options { get; init; } = new() { Temperature = 0, MaxOutputTokens = 128 };
    /// <summary>Where each step is appended as a JSON line, or null.</summary>
    public string? TracePath { get; init; }

    /// <summary>How long one tool call may take; then its observation says it timed out and the loop goes on.</summary>
    public TimeSpan ToolTimeout { get; init; } = TimeSpan.FromSeconds(30);

    // A line "Action: name[input]"; the step's action is the last such line.
    [GeneratedRegex(@"^[ \t]*Action:[ \t]*([A-Za-z_][\w-]*)[ \t]*\[(.*)\][ \t]*\r?$", RegexOptions.Multiline)]
    private static partial Regex ActionLine();

    [GeneratedRegex(@"Final Answer:\s*(.*)", RegexOptions.Singleline)]
    private static partial Regex FinalAnswer();

    /// <summary>The instructions and tool list that start every transcript.</summary>
    public string Preamble()
    {
        var text = new StringBuilder("Answer the question. You can use these tools:\n");
        foreach (var tool in tools) text.Append($"{tool.Name}: {tool.Description}\n");
        return text.Append("\nUse this format:\nThought: what to do next\nAction: tool[input]\nObservation: the tool's result\n")
            .Append("... (Thought/Action/Observation can repeat)\nThought: I know the answer\nFinal Answer: the answer\n").ToString();
    }

    /// <summary>Runs the loop for <paramref name="question"/>.</summary>
    public async Task<AgentResult> RunAsync(string question, CancellationToken cancellation = default)
    {
        var transcript = new StringBuilder(Preamble()).Append($"\nQuestion: {question}\n");
        var steps = new List<AgentStep>();
        var options = Options.Clone();
        options.StopSequences = [.. Options.StopSequences ?? [], "Observation:"];
        for (int step = 1; step <= MaxSteps; step++)
        {
            var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, transcript.ToString())], options, cancellation);
            string written = response.Text.TrimEnd();
            transcript.Append(written).Append('\n');
            if (FinalAnswer().Match(written) is { Success: true } final)
            {
                string answer = final.Groups[1].Value.Trim().Split('\n')[0].Trim();
                return Finish(new AgentStep(step, ThoughtOf(written[..final.Index]), null, null, null, false), answer);
            }
            AgentStep record;
            if (ActionLine().Matches(written) is { Count: > 0 } actions && actions[^1] is var action)
            {
                string name = action.Groups[1].Value, input = action.Groups[2].Value.Trim();
                string observation;
                bool malformed = false;
                if (tools.FirstOrDefault(t => t.Name == name) is { } tool)
                {
                    observation = await AgentTools.InvokeAsync(tool, input, ToolTimeout, cancellation);
                }
                else
                {
                    observation = $"error: there is no tool '{name}' (tools: {string.Join(", ", tools.Select(t => t.Name))})";
                    malformed = true;
                }
                record = new AgentStep(step, ThoughtOf(written[..action.Index]), name, input, observation, malformed);
            }
            else
            {
                record = new AgentStep(step, ThoughtOf(written), null, null, "error: write 'Action: tool[input]' or 'Final Answer: the answer'", true);
            }
            transcript.Append($"Observation: {record.Observation}\n");
            Record(record);
            steps.Add(record);
        }
        return new AgentResult(null, steps, steps.Count(s => s.Malformed), transcript.ToString());

        AgentResult Finish(AgentStep last, string answer)
        {
            Record(last);
            steps.Add(last);
            return new AgentResult(answer, steps, steps.Count(s => s.Malformed), transcript.ToString());
        }
    }

    static string ThoughtOf(string text) => text.Replace("Thought:", "").Trim();

    void Record(AgentStep step) => AgentTools.Trace(TracePath, step);
}
