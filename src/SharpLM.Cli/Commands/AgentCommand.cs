using System.CommandLine;
using Microsoft.Extensions.AI;
using SharpLM.Utilization.Agents;
using SharpLM.Utilization.Tools;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm agent`: a ReAct loop with tools over a checkpoint or an OpenAI-compatible server.</summary>
public static class AgentCommand
{
    public static Command Create()
    {
        var question = new Option<string>("--question") { Description = "What to answer.", Required = true };
        var tools = new Option<string>("--tools") { Description = $"Comma-separated: {string.Join(", ", ToolRegistry.Specs)} (an mcp: item takes the rest of the list, commas included).", DefaultValueFactory = _ => CalculatorTool.Name };
        var chat = new ChatClientOptions();
        var maxSteps = new Option<int>("--max-steps") { Description = "Steps before giving up.", DefaultValueFactory = _ => 6 };
        var trace = new Option<string?>("--trace") { Description = "Append every step to this JSONL file." };
        var command = new Command("agent", "Answer a question with ReAct (Thought / Action: tool[input] / Observation … Final Answer), printing each step.")
        {
            question, tools, maxSteps, trace,
        };
        chat.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            if (parse.GetValue(maxSteps) < 1) throw new InvalidInputException("--max-steps: must be at least 1");
            await using var toolSet = await ToolRegistry.OpenAsync(ToolRegistry.Split(parse.GetValue(tools)!), cancellation: cancel);
            using IChatClient client = chat.Open(parse);
            var result = await new ReActAgent(client, toolSet.Tools) { MaxSteps = parse.GetValue(maxSteps), TracePath = parse.GetValue(trace) }.RunAsync(parse.GetValue(question)!, cancel);
            foreach (var step in result.Steps)
                Console.WriteLine(step.Action is null
                    ? $"{step.Step}. {step.Thought}{(step.Observation is null ? "" : $" → {step.Observation}")}"
                    : $"{step.Step}. {step.Thought} → {step.Action}[{step.Input}] → {step.Observation}");
            Console.WriteLine(result.Answer is null ? $"no answer within {parse.GetValue(maxSteps)} steps" : $"answer: {result.Answer}");
            if (result.MalformedSteps > 0) Console.Error.WriteLine($"{result.MalformedSteps} malformed step(s)");
            return result.Answer is null ? 2 : 0;
        });
        return command;
    }
}
