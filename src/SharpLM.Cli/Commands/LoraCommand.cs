using System.CommandLine;
using SharpLM.Adaptation;
using SharpLM.Adaptation.Peft.Lora;
using TorchSharp;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm lora merge`: folds a LoRA adapter into its base, giving a plain checkpoint.</summary>
public static class LoraCommand
{
    public static Command Create()
    {
        var baseDir = new Option<string>("--base") { Description = "Base checkpoint the adapter was trained on.", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "LoRA adapter: a directory written by 'sharplm sft --method lora', or a Hugging Face PEFT folder.", Required = true };
        var output = new Option<string>("--out") { Description = "Where the merged model goes: a directory (SharpLM run), hf:DIR or gguf:FILE.", Required = true };
        var merge = new Command("merge", "W ← W + (alpha/r)·B·A for every adapted layer; writes a plain model (SharpLM run, Hugging Face folder or GGUF).") { baseDir, adapter, output };
        merge.SetAction(parse =>
        {
            string b = parse.GetValue(baseDir)!, a = parse.GetValue(adapter)!, o = parse.GetValue(output)!;
            var destination = o.Contains(':') ? ModelLocation.ParseDestination(o) : new ModelLocation(ModelFormat.SharpLM, o);
            var bundle = ModelBundle.Load(b, torch.CPU, a);
            if (bundle.Adapter is not LoraTuning lora) throw InvalidInputException.ForFile(a, "is not a LoRA adapter; only LoRA folds into the weights");
            using var merged = lora.ExportMerged();
            // The adapter directory carries the tokenizer and template it was trained with (chat tokens included).
            var plain = new ModelBundle { Model = merged, Tokenizer = bundle.Tokenizer, Template = bundle.Template, Location = bundle.Location, Device = torch.CPU };
            Console.WriteLine(plain.Save(destination));
            Console.WriteLine($"merged {lora.Layers.Count} LoRA layers");
            return 0;
        });
        var peftOut = new Option<string>("--out") { Description = "Directory for the adapter in Hugging Face PEFT's layout.", Required = true };
        var toPeft = new Command("to-peft", "Writes a LoRA adapter in Hugging Face PEFT's layout (adapter_config.json, adapter_model.safetensors) for a base in a Hugging Face family.") { baseDir, adapter, peftOut };
        toPeft.SetAction(parse =>
        {
            string b = parse.GetValue(baseDir)!, a = parse.GetValue(adapter)!, o = parse.GetValue(peftOut)!;
            var bundle = ModelBundle.Load(b, torch.CPU, a);
            if (bundle.Adapter is not LoraTuning lora) throw InvalidInputException.ForFile(a, "is not a LoRA adapter; PEFT's layout is written for LoRA");
            HfPeftLora.Save(lora, o, bundle.Location.Path);
            Console.WriteLine($"wrote {lora.Layers.Count} LoRA layers in PEFT's layout to {o}");
            return 0;
        });
        return new Command("lora", "LoRA adapter utilities.") { merge, toPeft };
    }
}
