using System.CommandLine;
using SharpLM.Adaptation;
using SharpLM.Modeling;
using SharpLM.Runtime;

namespace SharpLM.Cli.Commands;

/// <summary>Options shared by verbs that load a model: where it is (any format), an adapter, the device and threads.</summary>
public sealed class CheckpointOptions
{
    public readonly Option<string> Checkpoint = new("--checkpoint") { Description = "The model: a run directory written by pretrain or sft, hf:DIR (a Hugging Face folder) or gguf:FILE.", Required = true };
    public readonly Option<string?> Adapter = new("--adapter") { Description = "Adapter directory to apply (SharpLM's or a Hugging Face PEFT folder)." };
    public readonly Option<string> Device = new("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
    public readonly Option<int> Threads = new("--threads") { Description = "Intra-op threads (default: all cores).", DefaultValueFactory = _ => 0 };
    public readonly Option<string> Quantize = new("--quantize")
    {
        Description = "none, int8 (weight-only int8 Linear layers: a quarter of their memory), int4 or int4:GROUP (group-wise int4: about a sixth; default group 64). Slower on CPU.",
        DefaultValueFactory = _ => "none",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Checkpoint);
        command.Options.Add(Adapter);
        command.Options.Add(Device);
        command.Options.Add(Threads);
        command.Options.Add(Quantize);
    }

    /// <summary>The model bundle the options name (<see cref="ModelBundle.Load"/>: every consistency check is there).</summary>
    public ModelBundle Load(ParseResult parse)
    {
        TorchRuntime.SetThreads(parse.GetValue(Threads));
        var spec = QuantizationSpec.Parse(parse.GetValue(Quantize)!, "--quantize");
        var bundle = ModelBundle.Load(parse.GetValue(Checkpoint)!, TorchRuntime.ParseDevice(parse.GetValue(Device)!), parse.GetValue(Adapter));
        if (spec is not null)
        {
            if (bundle.Adapter is not null) throw new InvalidInputException($"--quantize {spec.Scheme}: merge the adapter first (sharplm lora merge), then quantise the merged model");
            if (Quantization.Of(bundle.Model) is { } stored) throw InvalidInputException.ForFile(bundle.Location.Path, $"is already quantised ({stored}, by sharplm quantize); drop --quantize");
            Quantization.Quantize(bundle.Decoder($"--quantize {spec.Scheme}"), spec);
        }
        return bundle;
    }
}
