using System.Text.Json;
using Microsoft.Extensions.AI;
using SharpLM.Adaptation.Formatting;
using SharpLM.Inference;
using SharpLM.Tests.Server;
using SharpLM.Tokenization;
using SharpLM.Utilization.Tools;
using TorchSharp;

namespace SharpLM.Tests.Inference;

public class ToolCallTests
{
    [Fact]
    public void Calls_in_a_reply_become_function_calls_and_what_is_not_a_call_stays_text()
    {
        var (text, calls, malformed) = ToolCallFormat.Parse(
            "Let me compute.\n<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"2+3\"}}\n</tool_call>\n<tool_call>{\"name\": \"search\", \"arguments\": {\"q\": \"x\", \"k\": 2}}</tool_call>");
        Assert.Equal("Let me compute.", text);
        Assert.Equal(0, malformed);
        Assert.Equal(["calculator", "search"], calls.Select(c => c.Name));
        Assert.Equal(["call_0", "call_1"], calls.Select(c => c.CallId));
        Assert.Equal("2+3", ((JsonElement)calls[0].Arguments!["expression"]!).GetString());
        Assert.Equal(2, ((JsonElement)calls[1].Arguments!["k"]!).GetInt32());

        // Broken JSON, a call without a name, arguments that are not an object, and an unclosed tag: text, counted.
        var broken = ToolCallFormat.Parse("<tool_call>{\"name\": \"calc\", </tool_call> a <tool_call>{\"arguments\": {}}</tool_call> b <tool_call>{\"name\": \"c\", \"arguments\": 3}</tool_call> c <tool_call>{\"name\"");
        Assert.Empty(broken.Calls);
        Assert.Equal(4, broken.Malformed);
        Assert.StartsWith("<tool_call>{\"name\": \"calc\", </tool_call> a", broken.Text);
        Assert.Equal(("plain answer", 0), (ToolCallFormat.Parse(" plain answer ").Text, ToolCallFormat.Parse("plain answer").Calls.Count));
    }

    [Fact]
    public void A_rendered_call_parses_back_to_the_same_call()
    {
        var call = new FunctionCallContent("c1", "calculator", new Dictionary<string, object?> { ["expression"] = "12 * 7", ["exact"] = true });
        string written = ToolCallFormat.Render(call);
        Assert.Equal("<tool_call>\n{\"name\":\"calculator\",\"arguments\":{\"expression\":\"12 * 7\",\"exact\":true}}\n</tool_call>", written);
        var back = Assert.Single(ToolCallFormat.Parse(written).Calls);
        Assert.Equal("calculator", back.Name);
        Assert.Equal("12 * 7", ((JsonElement)back.Arguments!["expression"]!).GetString());
        Assert.Equal("<tool_response>\n84\n</tool_response>", ToolCallFormat.Render(new FunctionResultContent("c1", "84")));
        // Written as a model writes it: no HTML escapes of +, <, > or '.
        Assert.Equal("<tool_call>\n{\"name\":\"calculator\",\"arguments\":{\"expression\":\"1+2 < 'x'\"}}\n</tool_call>",
            ToolCallFormat.Render(new FunctionCallContent("c2", "calculator", new Dictionary<string, object?> { ["expression"] = "1+2 < 'x'" })));
    }

    [Fact]
    public void A_checkpoint_client_describes_its_tools_and_renders_calls_and_results_in_the_conversation()
    {
        TinyServed.Gpt2(out var gpt);
        using var client = new CheckpointChatClient(gpt, Gpt2Tokenizer.Instance, ChatTemplate.Default, torch.CPU);
        var options = new ChatOptions { Tools = [CalculatorTool.Create()], Instructions = "Be brief." };
        List<ChatMessage> conversation =
        [
            new(ChatRole.User, "What is 1234 * 5678?"),
            new(ChatRole.Assistant, [new FunctionCallContent("call_0", "calculator", new Dictionary<string, object?> { ["expression"] = "1234 * 5678" })]),
            new(ChatRole.Tool, [new FunctionResultContent("call_0", "7006652")]),
        ];
        string prompt = client.RenderPrompt(conversation, options);
        Assert.StartsWith("<|im_start|>system\nBe brief.\n\n# Tools\n", prompt);
        Assert.Contains("\"name\":\"calculator\"", prompt);
        Assert.Contains("\"expression\"", prompt); // the parameter schema
        Assert.Contains("<|im_start|>assistant\n<tool_call>\n{\"name\":\"calculator\",\"arguments\":{\"expression\":\"1234 * 5678\"}}\n</tool_call><|im_end|>", prompt);
        Assert.Contains("<|im_start|>user\n<tool_response>\n7006652\n</tool_response><|im_end|>", prompt);
        Assert.EndsWith("<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public async Task With_tools_a_reply_is_returned_whole_and_without_calls_it_is_plain_text()
    {
        TinyServed.Gpt2(out var gpt);
        using var client = new CheckpointChatClient(gpt, Gpt2Tokenizer.Instance, ChatTemplate.Default, torch.CPU);
        var options = new ChatOptions { Tools = [CalculatorTool.Create()], MaxOutputTokens = 8, Temperature = 0 };
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "2+2?")], options);
        // An untrained model writes no call: the reply is its text and the finish reason is not ToolCalls.
        Assert.Empty(response.Messages[0].Contents.OfType<FunctionCallContent>());
        Assert.NotEqual(ChatFinishReason.ToolCalls, response.FinishReason);
        var streamed = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "2+2?")], options)) streamed.Add(update);
        Assert.Equal(response.Text, Assert.Single(streamed).Text);
    }
}
