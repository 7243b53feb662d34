using Microsoft.Extensions.AI;
using SharpLM.Adaptation.Formatting;
using SharpLM.Evaluation.Models;
using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Server;
using SharpLM.Tokenization;
using TorchSharp;

namespace SharpLM.Tests.Utilization;

/// <summary>
/// Tool calling end to end through Microsoft.Extensions.AI's <see cref="FunctionInvokingChatClient"/>: a model that has
/// learned two tool conversations by heart writes a call, the client runs the function, the result goes back in the
/// model's chat format and the model's next turn answers with it — in-process, and behind <c>sharplm serve</c> with the
/// tools and calls in OpenAI's wire format.
/// </summary>
public class ToolRoundTripTests
{
    static readonly AIFunction Add = AIFunctionFactory.Create((int a, int b) => a + b, "add", "Adds two integers.");

    // Two conversations, so the call the model writes depends on the question and its answer on the tool's result.
    static readonly (string Question, int A, int B)[] Conversations = [("What is 17 plus 25?", 17, 25), ("What is 30 plus 61?", 30, 61)];

    static List<ChatMessage> Transcript((string Question, int A, int B) c, string callId = "call_0") =>
    [
        new(ChatRole.User, c.Question),
        new(ChatRole.Assistant, [new FunctionCallContent(callId, "add", new Dictionary<string, object?> { ["a"] = c.A, ["b"] = c.B })]),
        new(ChatRole.Tool, [new FunctionResultContent(callId, (c.A + c.B).ToString())]),
        new(ChatRole.Assistant, $"The sum is {c.A + c.B}."),
    ];

    /// <summary>The conversations as ChatML (tools described as the server and the checkpoint client describe them),
    /// learned by a tiny model in a few seconds.</summary>
    static readonly Lazy<(Gpt Model, CharTokenizer Tokenizer)> Learned = new(() =>
    {
        var options = new ChatOptions { Tools = [Add] };
        string[] texts = Conversations.Select(c => ChatTemplate.Default.Render(ChatPrompt.Turns(Transcript(c), options)).Text).ToArray();
        return Memorise(texts);
    });

    static (Gpt, CharTokenizer) Memorise(string[] texts)
    {
        var tokenizer = CharTokenizer.FromText(string.Concat(texts) + "0123456789"); // every digit, whatever the tool returns
        torch.manual_seed(11);
        var model = new Gpt(new ModelConfig { VocabSize = tokenizer.VocabSize, BlockSize = texts.Max(t => t.Length) + 100, NLayer = 2, NHead = 2, NEmbd = 64 });
        using var optimizer = torch.optim.Adam(model.parameters(), lr: 3e-3);
        // The conversations have the same length, so they train together as one batch.
        var ids = torch.tensor(texts.SelectMany(t => tokenizer.Encode(t).Select(i => (long)i)).ToArray()).reshape(texts.Length, -1);
        for (int step = 0; step < 500; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            model.Loss(ids[.., ..^1], ids[.., 1..]).backward();
            optimizer.step();
        }
        model.eval();
        return (model, tokenizer);
    }

    static async Task AssertRoundTrips(IChatClient inner)
    {
        var client = new FunctionInvokingChatClient(inner); // not disposed: that would dispose the inner client, which its caller owns
        foreach (var c in Conversations)
        {
            var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, c.Question)],
                new ChatOptions { Tools = [Add], Temperature = 0, MaxOutputTokens = 90 });
            // The model called add with the question's numbers, the client ran it, and the model answered with its result.
            var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
            Assert.Equal("add", call.Name);
            Assert.Equal([c.A.ToString(), c.B.ToString()], new[] { "a", "b" }.Select(k => call.Arguments![k]!.ToString()));
            var result = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>());
            Assert.Equal(c.A + c.B, Convert.ToInt32(result.Result!.ToString()));
            Assert.Equal($"The sum is {c.A + c.B}.", response.Messages[^1].Text);
        }
    }

    [Fact]
    public async Task A_checkpoint_calls_a_function_through_the_function_invoking_client_and_answers_with_its_result()
    {
        var (model, tokenizer) = Learned.Value;
        using var checkpoint = new CheckpointChatClient(model, tokenizer, ChatTemplate.Default, torch.CPU);
        await AssertRoundTrips(checkpoint);
    }

    [Fact]
    public async Task A_served_checkpoint_calls_a_function_in_the_OpenAI_wire_format()
    {
        var (model, tokenizer) = Learned.Value;
        await using var server = await OpenAiServer.StartAsync(new GptServedModel(model, tokenizer, torch.CPU, "tools", ChatTemplate.Default), new OpenAiServerOptions { Port = 0 });
        using var http = new OpenAiCompatibleChatClient(new OpenAiCompatibleOptions { BaseUrl = server.BaseUrl, Model = "tools", Chat = true });
        await AssertRoundTrips(http);

        // Streamed, the call arrives whole with finish reason tool_calls.
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in http.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, Conversations[0].Question)], new ChatOptions { Tools = [Add], Temperature = 0, MaxOutputTokens = 90 }))
            updates.Add(u);
        Assert.Equal("add", Assert.Single(updates.SelectMany(u => u.Contents).OfType<FunctionCallContent>()).Name);
        Assert.Equal(ChatFinishReason.ToolCalls, updates.Last(u => u.FinishReason is not null).FinishReason);
    }
}
