using System.CommandLine;
using System.Text.Json;
using SharpLM.Adaptation;
using SharpLM.Data;
using SharpLM.Evaluation;
using SharpLM.IO;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Training;

namespace SharpLM.Cli.Commands;

/// <summary>
/// `sharplm quantize`: writes a model's quantised copy as a SharpLM run directory that loads back without quantising
/// again, and shows what it costs and saves — perplexity of held-out text, weight memory and decode speed, float32
/// beside the quantised model — as a table, JSON on stdout, and quantize.json in the output directory.
/// </summary>
public static class QuantizeCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "The float model: a run directory, hf:DIR or gguf:FILE.", Required = true };
        var scheme = new Option<string>("--scheme") { Description = $"Quantisation scheme: {Quantization.Names}.", Required = true };
        var groupSize = new Option<int?>("--group-size") { Description = $"int4: input columns per scale and offset (even; default {Int4Weights.DefaultGroupSize}; a width that is not a multiple is padded)." };
        var output = new Option<string>("--out") { Description = "Directory to write the quantised run to (must not hold a checkpoint).", Required = true };
        var data = new Option<string?>("--data") { Description = "UTF-8 text to measure perplexity on (default: the run's prepared validation split, RUN/data/val.bin)." };
        var tokens = new Option<int>("--tokens") { Description = "Greedy tokens per decode run for the speed figure (capped by the context).", DefaultValueFactory = _ => 200 };
        var seconds = new Option<double>("--seconds") { Description = "Decode for at least this long per model for the speed figure.", DefaultValueFactory = _ => 2 };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (default: all cores).", DefaultValueFactory = _ => 0 };
        var command = new Command("quantize", "Quantise a model's Linear weights (int8 per channel, int4 group-wise) into a new run directory, with perplexity, memory and speed against float32.")
        {
            checkpoint, scheme, groupSize, output, data, tokens, seconds, device, threads,
        };
        command.SetAction(parse =>
        {
            var spec = Quantization.Spec(parse.GetValue(scheme)!, parse.GetValue(groupSize), "--scheme");
            var destination = new ModelLocation(ModelFormat.SharpLM, parse.GetValue(output)!);
            if (SharpLM.Checkpoints.Checkpoint.Exists(destination.Path)) throw InvalidInputException.ForFile(destination.Path, "already holds a checkpoint; choose another --out");
            if (parse.GetValue(tokens) < 1) throw new InvalidInputException("--tokens: must be positive");
            if (parse.GetValue(seconds) < 0) throw new InvalidInputException("--seconds: must not be negative");
            TorchRuntime.SetThreads(parse.GetValue(threads));
            var bundle = ModelBundle.Load(parse.GetValue(checkpoint)!, TorchRuntime.ParseDevice(parse.GetValue(device)!));
            if (Quantization.Of(bundle.Model) is { } stored) throw InvalidInputException.ForFile(bundle.Location.Path, $"is already quantised ({stored}); quantise the float model");
            var model = bundle.Decoder("quantisation");
            string text = EvaluationText(parse.GetValue(data), bundle);

            var started = System.Diagnostics.Stopwatch.StartNew();
            Console.Error.WriteLine($"measuring float32 ({bundle.Model.ParameterCount:N0} parameters; {text.Length:N0} characters of evaluation text)…");
            var reference = QuantizationComparison.Measure(model, bundle.Tokenizer, text, bundle.Device, parse.GetValue(tokens), parse.GetValue(seconds));
            Console.Error.WriteLine($"quantising to {spec} ({started.Elapsed.TotalSeconds:F1} s so far)…");
            Quantization.Quantize(model, spec);
            Console.Error.WriteLine($"measuring {spec} ({started.Elapsed.TotalSeconds:F1} s so far)…");
            var quantised = QuantizationComparison.Measure(model, bundle.Tokenizer, text, bundle.Device, parse.GetValue(tokens), parse.GetValue(seconds));
            Console.WriteLine(bundle.Save(destination));
            var rows = new[] { reference, quantised };
            Console.Write(QuantizationComparison.MarkdownTable(rows));
            var report = new { source = bundle.Location.ToString(), output = destination.Path, quantization = spec, evaluation_characters = text.Length, rows };
            AtomicFile.WriteAllText(Path.Combine(destination.Path, "quantize.json"), JsonSerializer.Serialize(report, Json.Options) + "\n");
            Console.WriteLine(JsonSerializer.Serialize(report, Json.Line));
            return 0;
        });
        return command;
    }

    /// <summary>--data's text, or the run's prepared validation split decoded.</summary>
    static string EvaluationText(string? data, ModelBundle bundle)
    {
        if (data is not null)
            return File.Exists(data) ? File.ReadAllText(data) : throw InvalidInputException.ForFile(data, "file not found");
        string prepared = Path.Combine(bundle.Location.Path, "data");
        if (bundle.Location.Format != ModelFormat.SharpLM || !File.Exists(Path.Combine(prepared, PreparedData.ValShard)))
            throw new InvalidInputException($"--data: {bundle.Location} has no prepared validation split (data/{PreparedData.ValShard}); give a text file to measure perplexity on");
        return NGramTrainer.DecodeShard(prepared, PreparedData.ValShard, bundle.Tokenizer);
    }
}
