using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace SharpLM.Utilization.Agents;

/// <summary>One event of a plan-then-execute run, as the trace records it.</summary>
/// <param name="Kind">"plan" (the model's plan, in Text), "step" (a tool call and its Result), "malformed" (a plan
/// with no step that can be read) or "answer".</param>
/// <param name="Round">0 for the first plan, then one more for each re-plan.</param>
/// <param name="Evidence">The step's variable, e.g. "#E2".</param>
/// <param name="Tool">The tool called.</param>
/// <param name="Input">Its input, with earlier results substituted.</param>
/// <param name="Result">What the tool returned, or the error shown to the planner.</param>
/// <param name="Text">The plan's or the answer's text.</param>
public sealed record PlanEvent(string Kind, int Round, string? Evidence = null, string? Tool = null, string? Input = null, string? Result = null, string? Text = null);

/// <summary>How a plan-then-execute run ended: its answer (null when the budget ran out), every event and the re-plans it took.</summary>
public sealed record PlanResult(string? Answer, IReadOnlyList<PlanEvent> Trace, int Replans);

/// <summary>
/// Plan-then-execute in the ReWOO style (Xu et al. 2023; Wang et al.'s Plan-and-Solve): the model writes the whole plan
/// first, one tool call per step, a later step naming an earlier result as #E1, #E2…; the steps run without the model;
/// when one fails (its tool reports an error, or names an unknown tool or result) the model re-plans from the evidence
/// so far and the failure, within <see cref="MaxReplans"/>; finally the model answers from the evidence. The whole
/// run is bounded by <see cref="MaxSteps"/> tool calls and every event can go to a JSONL trace. Works over any
/// <see cref="IChatClient"/>; everything the agent writes is ASCII.
/// </summary>
public sealed partial class PlanExecuteAgent(IChatClient client, IReadOnlyList<AIFunction> tools)
{
    /// <summary>Tool calls before the run gives up.</summary>
    public int MaxSteps { get; init; } = 8;
    /// <summary>Re-plans after failed steps before the run gives up.</summary>
    public int MaxReplans { get; init; } = 2;
    /// <summary>Sampling for the planner and the solver (temperature 0 by default).</summary>
    public ChatOptions Options { get; init; } = new() { Temperature = 0, MaxOutputTokens = 256 };
    /// <summary>Where each event is appended as a JSON line, or null.</summary>
    public string? TracePath { get; init; }
    /// <summary>How long one tool call may take.</summary>
    public TimeSpan ToolTimeout { get; init; } = TimeSpan.FromSeconds(30);

    [GeneratedRegex(@"^[ \t]*(#E\d+)[ \t]*=[ \t]*([A-Za-z_][\w-]*)[ \t]*\[(.*)\][ \t]*\r?$", RegexOptions.Multiline)]
    private static partial Regex StepLine();

    [GeneratedRegex(@"#E\d+")]
    private static partial Regex Reference();

    /// <summary>What the planner is told: the tools and the plan format.</summary>
    public string PlannerPreamble()
    {
        var text = new StringBuilder("Make a plan to answer the question with these tools:\n");
        foreach (var tool in tools) text.Append($"{tool.Name}: {tool.Description}\n");
        return text.Append("\nWrite each step as two lines:\nPlan: why this step\n#E1 = tool[input]\n")
            .Append("A later input may use an earlier result by its name, as #E1.\n").ToString();
    }

    /// <summary>Plans, executes (re-planning on failures) and answers <paramref name="question"/>.</summary>
    public async Task<PlanResult> RunAsync(string question, CancellationToken cancellation = default)
    {
        var trace = new List<PlanEvent>();
        void Record(PlanEvent e)
        {
            trace.Add(e);
            AgentTools.Trace(TracePath, e);
        }
        var evidence = new List<(string Name, string Tool, string Input, string Result)>();
        int calls = 0;
        string? failure = null;
        for (int round = 0; round <= MaxReplans; round++)
        {
            var prompt = new StringBuilder(PlannerPreamble()).Append($"\nQuestion: {question}\n");
            if (round > 0)
            {
                prompt.Append("\nThe plan so far ran these steps:\n");
                foreach (var e in evidence) prompt.Append($"{e.Name} = {e.Tool}[{e.Input}] -> {e.Result}\n");
                prompt.Append($"The last step failed: {failure}\nWrite a new plan for what is left, numbering on from #E{evidence.Count(e => !AgentTools.IsError(e.Result)) + 1}.\n");
            }
            string plan = (await client.GetResponseAsync([new ChatMessage(ChatRole.User, prompt.ToString())], Options, cancellation)).Text.Trim();
            Record(new PlanEvent("plan", round, Text: plan));
            var steps = StepLine().Matches(plan).Select(m => (Name: m.Groups[1].Value, Tool: m.Groups[2].Value, Input: m.Groups[3].Value.Trim())).ToList();
            if (steps.Count == 0)
            {
                failure = "the plan has no step written as '#E1 = tool[input]'";
                Record(new PlanEvent("malformed", round, Result: "error: " + failure));
                continue;
            }
            // A failed step's evidence is dropped: the new plan redoes it under its name.
            evidence.RemoveAll(e => AgentTools.IsError(e.Result));
            failure = null;
            foreach (var (name, toolName, rawInput) in steps)
            {
                if (calls++ >= MaxSteps) return new PlanResult(null, trace, round);
                string input = Reference().Replace(rawInput, m => evidence.LastOrDefault(e => e.Name == m.Value).Result ?? m.Value);
                string result = Reference().Match(input) is { Success: true } unresolved
                    ? $"error: {unresolved.Value} is not the name of an earlier result"
                    : tools.FirstOrDefault(t => t.Name == toolName) is { } tool
                        ? await AgentTools.InvokeAsync(tool, input, ToolTimeout, cancellation)
                        : $"error: there is no tool '{toolName}' (tools: {string.Join(", ", tools.Select(t => t.Name))})";
                evidence.Add((name, toolName, input, result));
                Record(new PlanEvent("step", round, name, toolName, input, result));
                if (AgentTools.IsError(result))
                {
                    failure = $"{name} = {toolName}[{input}] -> {result}";
                    break;
                }
            }
            if (failure is not null) continue;

            var solve = new StringBuilder("Answer the question from the evidence.\n\n");
            foreach (var e in evidence) solve.Append($"{e.Name} = {e.Tool}[{e.Input}] -> {e.Result}\n");
            solve.Append($"\nQuestion: {question}\nAnswer:");
            string answer = (await client.GetResponseAsync([new ChatMessage(ChatRole.User, solve.ToString())], Options, cancellation)).Text.Trim().Split('\n')[0].Trim();
            Record(new PlanEvent("answer", round, Text: answer));
            return new PlanResult(answer, trace, round);
        }
        return new PlanResult(null, trace, MaxReplans);
    }
}
