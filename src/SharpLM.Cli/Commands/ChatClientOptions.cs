using System.CommandLine;
using Microsoft.Extensions.AI;
using SharpLM.Evaluation.Models;
using SharpLM.Inference;

namespace SharpLM.Cli.Commands;

/// <summary>--checkpoint DIR or --openai URL (+ --model): the chat model a verb talks to, opened as an <see cref="IChatClient"/>.</summary>
public sealed class ChatClientOptions
{
    public Option<string?> Checkpoint { get; } = new("--checkpoint") { Description = "A chat checkpoint (run directory) that answers." };
    public Option<string?> OpenAi { get; } = new("--openai") { Description = "Or an OpenAI-compatible server that answers, e.g. http://127.0.0.1:8080/v1 (sharplm serve, llama.cpp, vLLM)." };
    public Option<string> Model { get; } = new("--model") { Description = "With --openai: the model name.", DefaultValueFactory = _ => "default" };

    public void AddTo(Command command)
    {
        command.Options.Add(Checkpoint);
        command.Options.Add(OpenAi);
        command.Options.Add(Model);
    }

    /// <exception cref="InvalidInputException">Neither or both given, or a URL that is not http(s).</exception>
    public IChatClient Open(ParseResult parse) => (parse.GetValue(Checkpoint), parse.GetValue(OpenAi)) switch
    {
        (string dir, null) => CheckpointChatClient.Load(dir, TorchSharp.torch.CPU),
        (null, string url) when Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" =>
            new OpenAiCompatibleChatClient(new OpenAiCompatibleOptions { BaseUrl = uri, Model = parse.GetValue(Model)! }),
        (null, string url) => throw new InvalidInputException($"--openai: '{url}' is not an http(s) URL"),
        _ => throw new InvalidInputException($"{parse.CommandResult.Command.Name}: give exactly one of --checkpoint and --openai"),
    };
}
