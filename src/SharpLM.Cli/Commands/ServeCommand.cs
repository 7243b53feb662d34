using System.CommandLine;
using SharpLM.Server;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm serve`: an OpenAI-compatible HTTP server over a checkpoint, until Ctrl+C.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var ckpt = new CheckpointOptions();
        var host = new Option<string>("--host") { Description = "IP address to listen on (0.0.0.0 exposes the server to the network).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port; 0 picks a free one.", DefaultValueFactory = _ => 8080 };
        var name = new Option<string?>("--model-name") { Description = "Model id reported to clients (default: the checkpoint directory's name)." };

        var command = new Command("serve", "Serve a checkpoint over an OpenAI-compatible API (/v1/models, /v1/completions, /v1/chat/completions).")
        {
            host, port, name,
        };
        ckpt.AddTo(command);
        command.SetAction(parse =>
        {
            var (model, tokenizer, device) = ckpt.Load(parse);
            string id = parse.GetValue(name) ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(parse.GetValue(ckpt.Checkpoint)!)));
            var served = new GptServedModel(model, tokenizer, device, id);
            var options = new OpenAiServerOptions { Host = parse.GetValue(host)!, Port = parse.GetValue(port) };
            var server = OpenAiServer.StartAsync(served, options).GetAwaiter().GetResult();
            // The one line the server prints: where to point clients (the port is the real one when --port 0).
            Console.WriteLine($"serving {id} at {server.BaseUrl}");
            server.WaitForShutdownAsync().GetAwaiter().GetResult();
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return 0;
        });
        return command;
    }
}
