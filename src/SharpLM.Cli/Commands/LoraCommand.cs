using System.CommandLine;
using SharpLM.Adaptation;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Training;
using TorchSharp;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm lora merge`: folds a LoRA adapter into its base, giving a plain checkpoint.</summary>
public static class LoraCommand
{
    public static Command Create()
    {
        var baseDir = new Option<string>("--base") { Description = "Base checkpoint the adapter was trained on.", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "Adapter directory written by 'sharplm sft --method lora'.", Required = true };
        var output = new Option<string>("--out") { Description = "Directory for the merged checkpoint.", Required = true };
        var merge = new Command("merge", "W ← W + (alpha/r)·B·A for every adapted layer; writes a normal checkpoint.") { baseDir, adapter, output };
        merge.SetAction(parse =>
        {
            string b = parse.GetValue(baseDir)!, a = parse.GetValue(adapter)!, o = parse.GetValue(output)!;
            if (Checkpoint.Exists(o)) throw InvalidInputException.ForFile(o, "already holds a checkpoint; choose another --out");
            var bundle = ModelBundle.Load(b, torch.CPU, a);
            if (bundle.Adapter is not LoraTuning lora) throw InvalidInputException.ForFile(a, "is not a LoRA adapter; only LoRA folds into the weights");
            using var merged = lora.ExportMerged();
            Directory.CreateDirectory(o);
            Checkpoint.Save(o, merged, null, new CheckpointManifest { Step = 0, Model = merged.Config, ModelFile = "", ModelSha256 = "" });
            // The adapter directory carries the tokenizer and template it was trained with (chat tokens included).
            bundle.Tokenizer.Save(o);
            bundle.ChatTemplate.Save(o);
            Console.WriteLine($"merged {lora.Layers.Count} LoRA layers into {o}");
            return 0;
        });
        return new Command("lora", "LoRA adapter utilities.") { merge };
    }
}
