using System.CommandLine;
using SharpLM.Adaptation;
using TorchSharp;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm convert`: a model from one format to another (SharpLM run, Hugging Face folder, GGUF file), with its tokenizer and template.</summary>
public static class ConvertCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "The model: hf:DIR, gguf:FILE, sharplm:DIR (or a bare path, recognised by its contents).", Required = true };
        var to = new Option<string>("--to") { Description = "Where to write it: hf:DIR, gguf:FILE or sharplm:DIR.", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "Weights written as f32, bf16 or f16 (Hugging Face and GGUF; SharpLM runs are f32).", DefaultValueFactory = _ => "f32" };
        var family = new Option<string?>("--family") { Description = "Hugging Face model_type to write (gpt2, llama, mistral, qwen2); default: the one that describes the model." };
        var command = new Command("convert", "Convert a model between SharpLM runs, Hugging Face folders (safetensors) and GGUF files (llama.cpp).") { from, to, dtype, family };
        command.SetAction(parse =>
        {
            var type = parse.GetValue(dtype) switch
            {
                "f32" => torch.ScalarType.Float32, "bf16" => torch.ScalarType.BFloat16, "f16" => torch.ScalarType.Float16,
                var other => throw new InvalidInputException($"--dtype '{other}': expected f32, bf16 or f16"),
            };
            var destination = ModelLocation.ParseDestination(parse.GetValue(to)!);
            var started = System.Diagnostics.Stopwatch.StartNew();
            var bundle = ModelBundle.Load(parse.GetValue(from)!);
            Console.WriteLine($"loaded {bundle.Location} ({bundle.Model.ParameterCount:N0} parameters, {bundle.Tokenizer.VocabSize:N0}-token {bundle.Tokenizer.Kind} tokenizer) in {started.Elapsed.TotalSeconds:F1} s");
            Console.WriteLine(bundle.Save(destination, type, parse.GetValue(family)));
            return 0;
        });
        return command;
    }
}
