using System.CommandLine;
using Microsoft.Extensions.AI;
using SharpLM.Inference;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm chat`: an interactive multi-turn conversation through the checkpoint's chat template.</summary>
public static class ChatCommand
{
    public static Command Create()
    {
        var ckpt = new CheckpointOptions();
        var system = new Option<string?>("--system") { Description = "System message." };
        var temperature = new Option<float>("--temperature") { DefaultValueFactory = _ => 0.7f };
        var maxTokens = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 200 };
        var command = new Command("chat", "Chat with a checkpoint (and adapter): one line per user turn, empty line or Ctrl-D to quit, /reset to start over.")
        {
            system, temperature, maxTokens,
        };
        ckpt.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var bundle = ckpt.Load(parse);
            using var client = new CheckpointChatClient(bundle.Model, bundle.Tokenizer, bundle.ChatTemplate, bundle.Device);
            var history = new List<ChatMessage>();
            if (parse.GetValue(system) is string s) history.Add(new ChatMessage(ChatRole.System, s));
            var options = new ChatOptions { Temperature = parse.GetValue(temperature), MaxOutputTokens = parse.GetValue(maxTokens) };
            while (true)
            {
                Console.Write("> ");
                string? line = Console.ReadLine();
                if (string.IsNullOrWhiteSpace(line)) return 0;
                if (line.Trim() == "/reset")
                {
                    history.RemoveAll(m => m.Role != ChatRole.System);
                    continue;
                }
                history.Add(new ChatMessage(ChatRole.User, line));
                var reply = new System.Text.StringBuilder();
                await foreach (var update in client.GetStreamingResponseAsync(history, options, cancel))
                {
                    Console.Write(update.Text);
                    reply.Append(update.Text);
                }
                Console.WriteLine();
                history.Add(new ChatMessage(ChatRole.Assistant, reply.ToString()));
            }
        });
        return command;
    }
}
