using System.Text.Json;
using SharpLM.Utilization.Agents;
using SharpLM.Utilization.Reasoning;
using SharpLM.Utilization.Tools;

namespace SharpLM.Tests.Utilization;

public class PlanExecuteAgentTests
{
    [Fact]
    public async Task A_plan_runs_step_by_step_with_earlier_results_and_a_failed_step_makes_the_model_replan()
    {
        using var dir = new TempDirectory();
        var model = ScriptedChatClient.Steps(
            "Plan: multiply.\n#E1 = calculator[12 *]\nPlan: add one.\n#E2 = calculator[#E1 + 1]",   // E1 fails: the expression is cut short
            "Plan: multiply properly.\n#E1 = calculator[12 * 3]\nPlan: add one.\n#E2 = calculator[#E1 + 1]",
            "37\nextra line");
        var agent = new PlanExecuteAgent(model, [CalculatorTool.Create()]) { TracePath = dir.File("trace.jsonl") };
        var result = await agent.RunAsync("What is 12 * 3 + 1?");

        Assert.Equal("37", result.Answer);
        Assert.Equal(1, result.Replans);
        var steps = result.Trace.Where(e => e.Kind == "step").ToList();
        Assert.Equal(["12 *", "12 * 3", "36 + 1"], steps.Select(s => s.Input)); // #E1 became its result
        Assert.StartsWith("error: ", steps[0].Result);
        Assert.Equal(["36", "37"], steps.Skip(1).Select(s => s.Result));
        // The re-plan saw the failure; the solver saw the evidence.
        Assert.Contains("The last step failed: #E1 = calculator[12 *] -> error: ", model.Seen[1].Prompt);
        Assert.Contains("#E2 = calculator[36 + 1] -> 37", model.Seen[2].Prompt);
        Assert.EndsWith("Question: What is 12 * 3 + 1?\nAnswer:", model.Seen[2].Prompt);
        var kinds = File.ReadLines(dir.File("trace.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("kind").GetString()).ToArray();
        Assert.Equal(new string?[] { "plan", "step", "plan", "step", "step", "answer" }, kinds);
    }

    [Fact]
    public async Task Unknown_tools_unknown_results_and_unreadable_plans_use_up_the_replans_and_end_without_an_answer()
    {
        var model = ScriptedChatClient.Steps("I will just think.", "#E1 = search[cats]", "#E1 = calculator[#E7 + 1]");
        var result = await new PlanExecuteAgent(model, [CalculatorTool.Create()]) { MaxReplans = 2 }.RunAsync("?");
        Assert.Null(result.Answer);
        Assert.Equal("malformed", result.Trace[1].Kind);
        Assert.Equal("error: there is no tool 'search' (tools: calculator)", result.Trace.First(e => e.Tool == "search").Result);
        Assert.Equal("error: #E7 is not the name of an earlier result", result.Trace.Last(e => e.Kind == "step").Result);
        Assert.Equal(3, model.Seen.Count);

        // The step budget bounds a plan that never ends.
        var endless = ScriptedChatClient.Steps(string.Join("\n", Enumerable.Range(1, 20).Select(i => $"#E{i} = calculator[{i}]")));
        var bounded = await new PlanExecuteAgent(endless, [CalculatorTool.Create()]) { MaxSteps = 5 }.RunAsync("?");
        Assert.Null(bounded.Answer);
        Assert.Equal(5, bounded.Trace.Count(e => e.Kind == "step"));
    }

    [Fact]
    public async Task Least_to_most_decomposes_then_answers_each_subquestion_with_the_earlier_answers_in_context()
    {
        var model = new ScriptedChatClient(prompt => prompt.EndsWith("we need to first answer:")
            ? " \"How many apples does Anna have?\", then \"How many does Ben have?\"."
            : prompt.EndsWith("Q: How many apples does Anna have?\nA:") ? "Anna has 3."
            : prompt.EndsWith("Q: How many does Ben have?\nA:") ? "Ben has 3 + 2 = 5."
            : "Together 3 + 5 = 8.");
        var l2m = new LeastToMost(model) { DecompositionExamples = "Q: x\nA: To answer \"x\", we need to first answer: \"y\".", SolutionExamples = "x\n\nQ: y\nA: z" };
        var result = await l2m.SolveAsync("Anna has 3 apples, Ben 2 more. How many together?");
        Assert.Equal(["How many apples does Anna have?", "How many does Ben have?", "Anna has 3 apples, Ben 2 more. How many together?"], result.Steps.Select(s => s.Question));
        Assert.Equal("Together 3 + 5 = 8.", result.Answer);
        Assert.StartsWith("Q: x\nA: To answer", model.Seen[0].Prompt);
        // The last stage read every earlier answer.
        Assert.Contains("Q: How many apples does Anna have?\nA: Anna has 3.\n\nQ: How many does Ben have?\nA: Ben has 3 + 2 = 5.\n\nQ: Anna has", model.Seen[^1].Prompt);
        Assert.StartsWith("x\n\nQ: y\nA: z\n\nAnna has 3 apples", model.Seen[^1].Prompt);
    }
}
