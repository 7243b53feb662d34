using Microsoft.Extensions.AI;
using SharpLM.Adaptation.Formatting;
using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;

namespace SharpLM.Tests.Inference;

public class CheckpointChatClientTests
{
    static (Gpt Model, ITokenizer Tokenizer, CheckpointChatClient Client) Tiny()
    {
        // Printable ASCII and newline: any English prompt encodes.
        string alphabet = new string(Enumerable.Range(32, 95).Select(c => (char)c).ToArray()) + "\n";
        var tokenizer = CharTokenizer.FromText(alphabet).WithSpecialTokens(SpecialTokens.ChatMl);
        torch.manual_seed(3);
        var model = new Gpt(TinyRuns.Model(tokenizer.VocabSize));
        return (model, tokenizer, new CheckpointChatClient(model, tokenizer, ChatTemplate.Default, torch.CPU));
    }

    static readonly ChatMessage[] Question = [new(ChatRole.User, "the fox")];

    [Fact]
    public void Prompt_is_the_chat_template_with_the_generation_prompt()
    {
        var (_, _, client) = Tiny();
        Assert.Equal("<|im_start|>system\nbe quick<|im_end|>\n<|im_start|>user\nthe fox<|im_end|>\n<|im_start|>assistant\n",
            client.RenderPrompt(Question, new ChatOptions { Instructions = "be quick" }));
    }

    [Fact]
    public async Task A_tiny_random_gpt_returns_text_and_stops_at_max_tokens_or_im_end()
    {
        var (model, tokenizer, client) = Tiny();
        var options = new ChatOptions { MaxOutputTokens = 7, Temperature = 1.0f, Seed = 5 };
        var response = await client.GetResponseAsync(Question, options);

        // The same tokens straight from the generator, cut at <|im_end|>.
        var generator = new Generator(model, tokenizer, torch.CPU);
        var prompt = tokenizer.Encode(client.RenderPrompt(Question));
        var tokens = generator.GenerateTokens(prompt, new SamplingOptions { MaxNewTokens = 7, Temperature = 1.0, Seed = 5 }).ToList();
        int imEnd = tokenizer.IdOf(SpecialTokens.ImEnd)!.Value;
        var reply = tokens.TakeWhile(t => t != imEnd).ToArray();

        Assert.Equal(tokenizer.Decode(reply), response.Text);
        Assert.True(tokenizer.Encode(response.Text).Length <= 7);
        Assert.Equal(reply.Length == 7 ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(ChatRole.Assistant, response.Messages[0].Role);

        // Streaming gives the same text, and the last update carries the finish reason.
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Question, options)) updates.Add(update);
        Assert.Equal(response.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(response.FinishReason, updates[^1].FinishReason);
    }

    [Fact]
    public async Task Max_tokens_bounds_the_reply_and_stop_sequences_end_it()
    {
        var (_, tokenizer, client) = Tiny();
        var free = await client.GetResponseAsync(Question, new ChatOptions { MaxOutputTokens = 30, Temperature = 1.5f, Seed = 2 });
        if (free.FinishReason == ChatFinishReason.Length) Assert.Equal(30, tokenizer.Encode(free.Text).Length);
        var one = await client.GetResponseAsync(Question, new ChatOptions { MaxOutputTokens = 1, Temperature = 1.5f, Seed = 2 });
        Assert.True(tokenizer.Encode(one.Text).Length <= 1);
        Assert.StartsWith(one.Text, free.Text);

        if (free.Text.Length >= 6)
        {
            string stop = free.Text.Substring(3, 2);
            var stopped = await client.GetResponseAsync(Question, new ChatOptions { MaxOutputTokens = 30, Temperature = 1.5f, Seed = 2, StopSequences = [stop] });
            Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
            Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        }
    }

    [Fact]
    public async Task Self_instruct_runs_against_a_checkpoint()
    {
        var (_, _, client) = Tiny();
        var seeds = new[] { new SelfInstructTask("Name the colour of the clear daytime sky.", "", "Blue.") };
        var result = await SelfInstruct.RunAsync(client, seeds,
            new SelfInstructOptions { MaxRequests = 2, ChatOptions = new ChatOptions { MaxOutputTokens = 12, Temperature = 1.0f } });
        Assert.Equal(2, result.Requests);
        // A random model rarely proposes anything usable; whatever it keeps passed the filter.
        Assert.All(result.Generated, t => Assert.False(string.IsNullOrWhiteSpace(t.Instruction)));
    }

    [Fact]
    public async Task A_reply_ends_at_any_special_token_so_a_model_starting_the_next_turn_is_cut_off()
    {
        // A model that, after a few letters, always wants <|im_start|>: the final norm outputs a fixed vector, and the
        // untied head maps it to that token (and, at first, to "o"). Sampling at 0.7 as chat does.
        string alphabet = new string(Enumerable.Range(32, 95).Select(c => (char)c).ToArray()) + "\n";
        var tokenizer = CharTokenizer.FromText(alphabet).WithSpecialTokens(SpecialTokens.ChatMl);
        torch.manual_seed(4);
        var model = new Gpt(TinyRuns.Model(tokenizer.VocabSize) with { TieEmbeddings = false });
        int imStart = tokenizer.IdOf(SpecialTokens.ImStart)!.Value;
        using (torch.no_grad())
        {
            var p = model.state_dict();
            var e = torch.ones(model.Config.NEmbd);
            p["ln_f.weight"].zero_();
            p["ln_f.bias"].copy_(e);
            p["lm_head.weight"].zero_();
            p["lm_head.weight"][imStart].copy_(e * 0.5);
        }
        using var client = new CheckpointChatClient(model, tokenizer, ChatTemplate.Default, torch.CPU);
        for (ulong seed = 1; seed <= 5; seed++)
        {
            var reply = await client.GetResponseAsync(Question, new ChatOptions { Temperature = 0.7f, MaxOutputTokens = 40, Seed = (long)seed });
            Assert.DoesNotContain("<|im_start|>", reply.Text);
            Assert.DoesNotContain("<|", reply.Text);
        }
    }
}
