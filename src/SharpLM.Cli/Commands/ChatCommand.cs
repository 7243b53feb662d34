using System.CommandLine;
using Microsoft.Extensions.AI;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.Peft;
using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Tokenization;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm chat`: an interactive multi-turn conversation through the checkpoint's chat template.</summary>
public static class ChatCommand
{
    public static Command Create()
    {
        var ckpt = new CheckpointOptions();
        var adapter = new Option<string?>("--adapter") { Description = "PEFT adapter directory to apply to the checkpoint." };
        var system = new Option<string?>("--system") { Description = "System message." };
        var temperature = new Option<float>("--temperature") { DefaultValueFactory = _ => 0.7f };
        var maxTokens = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 200 };
        var command = new Command("chat", "Chat with a checkpoint (and adapter): one line per user turn, empty line or Ctrl-D to quit, /reset to start over.")
        {
            adapter, system, temperature, maxTokens,
        };
        ckpt.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var (model, tokenizer, device) = ckpt.Load(parse);
            string dir = parse.GetValue(ckpt.Checkpoint)!;
            string templateDir = dir;
            if (parse.GetValue(adapter) is string a)
            {
                if (model is not Gpt gpt) throw InvalidInputException.ForFile(dir, "adapters apply to decoder-only Transformers");
                PeftMethod.Load(a, gpt, dir);
                if (File.Exists(Path.Combine(a, TokenizerFile.FileName))) tokenizer = TokenizerFactory.Load(a);
                templateDir = a;
            }
            using var client = new CheckpointChatClient(model, tokenizer, ChatTemplate.Load(templateDir), device);
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
