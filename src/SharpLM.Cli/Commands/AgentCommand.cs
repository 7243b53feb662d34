using System.CommandLine;
using Microsoft.Extensions.AI;
using SharpLM.Utilization.Agents;
using SharpLM.Utilization.Reasoning;
using SharpLM.Utilization.Tools;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm agent`: ReAct, plan-then-execute or least-to-most over a checkpoint or an OpenAI-compatible server.</summary>
public static class AgentCommand
{
    /// <summary>The strategies --strategy takes.</summary>
    static readonly string[] Strategies = ["react", "plan", "least-to-most"];

    public static Command Create()
    {
        var question = new Option<string>("--question") { Description = "What to answer.", Required = true };
        var strategy = new Option<string>("--strategy")
        {
            Description = "react: Thought/Action/Observation steps; plan: a whole plan of tool calls first (#E1 = tool[input]), re-planned when a step fails; least-to-most: subquestions answered in order (no tools).",
            DefaultValueFactory = _ => "react",
        };
        strategy.AcceptOnlyFromAmong(Strategies);
        var tools = new Option<string>("--tools") { Description = $"Comma-separated: {string.Join(", ", ToolRegistry.Specs)} (an mcp: item takes the rest of the list, commas included).", DefaultValueFactory = _ => CalculatorTool.Name };
        var chat = new ChatClientOptions();
        var maxSteps = new Option<int>("--max-steps") { Description = "Steps (react) or tool calls (plan) before giving up.", DefaultValueFactory = _ => 6 };
        var maxReplans = new Option<int>("--max-replans") { Description = "plan: re-plans after failed steps.", DefaultValueFactory = _ => 2 };
        var trace = new Option<string?>("--trace") { Description = "Append every step to this JSONL file." };
        var command = new Command("agent", "Answer a question with tools (ReAct or plan-then-execute) or by least-to-most decomposition, printing each step.")
        {
            question, strategy, tools, maxSteps, maxReplans, trace,
        };
        chat.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            if (parse.GetValue(maxSteps) < 1) throw new InvalidInputException("--max-steps: must be at least 1");
            if (parse.GetValue(maxReplans) < 0) throw new InvalidInputException("--max-replans: must not be negative");
            string q = parse.GetValue(question)!;
            await using var toolSet = await ToolRegistry.OpenAsync(parse.GetValue(strategy) == "least-to-most" ? [] : ToolRegistry.Split(parse.GetValue(tools)!), cancellation: cancel);
            using IChatClient client = chat.Open(parse);
            string? answer;
            switch (parse.GetValue(strategy))
            {
                case "plan":
                    var plan = await new PlanExecuteAgent(client, toolSet.Tools)
                    {
                        MaxSteps = parse.GetValue(maxSteps), MaxReplans = parse.GetValue(maxReplans), TracePath = parse.GetValue(trace),
                    }.RunAsync(q, cancel);
                    foreach (var e in plan.Trace)
                        Console.WriteLine(e.Kind switch
                        {
                            "plan" => $"plan {e.Round}:\n{e.Text}",
                            "step" => $"  {e.Evidence} = {e.Tool}[{e.Input}] → {e.Result}",
                            "answer" => $"answer from the evidence: {e.Text}",
                            _ => $"  {e.Result}",
                        });
                    answer = plan.Answer;
                    break;
                case "least-to-most":
                    var solved = await new LeastToMost(client).SolveAsync(q, cancel);
                    foreach (var (sub, subAnswer) in solved.Steps) Console.WriteLine($"Q: {sub}\nA: {subAnswer}");
                    answer = solved.Answer;
                    break;
                default:
                    var result = await new ReActAgent(client, toolSet.Tools) { MaxSteps = parse.GetValue(maxSteps), TracePath = parse.GetValue(trace) }.RunAsync(q, cancel);
                    foreach (var step in result.Steps)
                        Console.WriteLine(step.Action is null
                            ? $"{step.Step}. {step.Thought}{(step.Observation is null ? "" : $" → {step.Observation}")}"
                            : $"{step.Step}. {step.Thought} → {step.Action}[{step.Input}] → {step.Observation}");
                    if (result.MalformedSteps > 0) Console.Error.WriteLine($"{result.MalformedSteps} malformed step(s)");
                    answer = result.Answer;
                    break;
            }
            Console.WriteLine(answer is null ? "no answer within the budget" : $"answer: {answer}");
            return answer is null ? 2 : 0;
        });
        return command;
    }
}
