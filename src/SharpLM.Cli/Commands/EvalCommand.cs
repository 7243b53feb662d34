using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpLM.Evaluation;
using SharpLM.Runtime;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm eval ppl`: perplexity and bits-per-byte of a text file under a checkpoint.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var ckpt = new CheckpointOptions();
        var data = new Option<string>("--data") { Description = "UTF-8 text file to score.", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "Windows per forward pass (results do not depend on it).", DefaultValueFactory = _ => 8 };
        var stride = new Option<int?>("--stride") { Description = "Slide windows by this many tokens, scoring only their last stride tokens (default: block size, non-overlapping)." };
        var ppl = new Command("ppl", "Perplexity, bits per token and bits per byte of a text file.") { data, batch, stride };
        ckpt.AddTo(ppl);
        ppl.SetAction(parse =>
        {
            string path = parse.GetValue(data)!;
            if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "file not found");
            if (parse.GetValue(batch) <= 0) throw new InvalidInputException("--batch-size: must be positive");
            var bundle = ckpt.Load(parse);
            var r = Perplexity.Evaluate(bundle.Model, bundle.Tokenizer, File.ReadAllText(path), bundle.Device, parse.GetValue(batch), parse.GetValue(stride));
            var c = CultureInfo.InvariantCulture;
            var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            table.AddRow("perplexity", r.Perplexity.ToString("F4", c));
            table.AddRow("bits per token", r.BitsPerToken.ToString("F4", c));
            table.AddRow("bits per byte", r.BitsPerByte.ToString("F4", c));
            table.AddRow("tokens scored", r.PredictedTokens.ToString("N0", c));
            table.AddRow("bytes", r.Bytes.ToString("N0", c));
            AnsiConsole.Write(table);
            Console.WriteLine(JsonSerializer.Serialize(r, Json.Line));
            return 0;
        });
        return new Command("eval", "Evaluate models: benchmark tasks, perplexity, and reference-exact metrics of text files.") { EvalRunCommand.Create(), ppl, EvalMetricCommands.Bleu(), EvalMetricCommands.Chrf(), EvalMetricCommands.Ter(), EvalMetricCommands.Rouge() };
    }
}
