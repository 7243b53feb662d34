using System.CommandLine;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Tokenization;
using SharpLM.Training;
using TorchSharp;

namespace SharpLM.Cli.Commands;

/// <summary>Options shared by verbs that load a trained checkpoint.</summary>
public sealed class CheckpointOptions
{
    public readonly Option<string> Checkpoint = new("--checkpoint") { Description = "Run directory written by pretrain.", Required = true };
    public readonly Option<string> Device = new("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
    public readonly Option<int> Threads = new("--threads") { Description = "Intra-op threads (default: all cores).", DefaultValueFactory = _ => 0 };

    public void AddTo(Command command)
    {
        command.Options.Add(Checkpoint);
        command.Options.Add(Device);
        command.Options.Add(Threads);
    }

    public (LanguageModel Model, ITokenizer Tokenizer, torch.Device Device) Load(ParseResult parse)
    {
        TorchRuntime.SetThreads(parse.GetValue(Threads));
        var device = TorchRuntime.ParseDevice(parse.GetValue(Device)!);
        string dir = parse.GetValue(Checkpoint)!;
        var (model, _) = Training.Checkpoint.LoadModel(dir, device);
        ITokenizer tokenizer = TokenizerFactory.Load(dir);
        if (tokenizer.VocabSize != model.Config.VocabSize)
            throw InvalidInputException.ForFile(Path.Combine(dir, TokenizerFile.FileName), $"tokenizer has {tokenizer.VocabSize} tokens but the model expects {model.Config.VocabSize}");
        return (model, tokenizer, device);
    }
}
