using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpLM.Data.Ingestion;
using SharpLM.Data.Mixture;
using SharpLM.IO;
using SharpLM.Runtime;
using SharpLM.Tokenization;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm data mix`: combine cleaned sources to target proportions of bytes or tokens.</summary>
public static class DataMixCommand
{
    public static Command Create()
    {
        var source = new Option<string[]>("--source")
        {
            Description = "NAME=PATH:WEIGHT (repeatable): a .jsonl/.txt file (optionally .gz), directory or glob; the weight follows the last ':'.",
            Required = true,
        };
        var unit = new Option<string>("--unit") { Description = "bytes or tokens: what the proportions and --total measure.", DefaultValueFactory = _ => "bytes" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "With --unit tokens: gpt2, or a tokenizer.json / directory holding one." };
        var total = new Option<string?>("--total") { Description = "Mixture size in units, e.g. 2500000, 500k, 1.5M, 2G (default: the most without repeating a source)." };
        var upsample = new Option<bool>("--upsample") { Description = "Repeat sources smaller than their share (repeated ids get #r2, #r3, …)." };
        var seed = new Option<ulong>("--seed") { Description = "Seed for the sampling and the interleaving.", DefaultValueFactory = _ => 1337UL };
        var noShuffle = new Option<bool>("--no-shuffle") { Description = "Write the sources one after another instead of interleaving them." };
        var output = new Option<string>("--output") { Description = "Mixed .jsonl (or .jsonl.gz).", Required = true };
        var report = new Option<string?>("--report") { Description = "Report path (default: mixture_report.json beside --output)." };

        var command = new Command("mix", "Mix cleaned sources to target proportions of bytes or tokens, down- or up-sampling each, with a report.")
        {
            source, unit, tokenizer, total, upsample, seed, noShuffle, output, report,
        };
        command.SetAction(parse =>
        {
            var sources = parse.GetValue(source)!.Select(MixtureSource.Parse).ToList();
            string outPath = Path.GetFullPath(parse.GetValue(output)!);
            // Mixing reads every source twice: an output among the inputs would be read while it is replaced.
            foreach (var s in sources)
                if (CorpusReader.Files(s.Path).Any(f => Path.GetFullPath(f) == outPath))
                    throw new InvalidInputException($"--output {outPath} is also read by source '{s.Name}'");
            var options = new MixtureOptions
            {
                TotalUnits = parse.GetValue(total) is string t ? ParseSize(t) : null,
                AllowUpsampling = parse.GetValue(upsample), Seed = parse.GetValue(seed), Shuffle = !parse.GetValue(noShuffle),
            };
            options = WithUnit(options, parse.GetValue(unit)!, parse.GetValue(tokenizer));

            using var writer = new JsonlWriter(outPath);
            var result = DataMixer.Mix(sources, writer, options);
            writer.Commit();
            string reportPath = parse.GetValue(report) ?? Path.Combine(Path.GetDirectoryName(outPath)!, "mixture_report.json");
            AtomicFile.WriteAllText(reportPath, JsonSerializer.Serialize(result, Json.Options));
            PrintTable(result);
            foreach (string warning in result.Warnings) Console.Error.WriteLine($"warning: {warning}");
            Console.WriteLine($"wrote {result.DocumentsWritten:N0} documents ({result.UnitsWritten:N0} {result.Unit}) → {outPath}; report → {reportPath}");
            return 0;
        });
        return command;
    }

    static MixtureOptions WithUnit(MixtureOptions options, string unit, string? tokenizer) => (unit, tokenizer) switch
    {
        ("bytes", null) => options with { Unit = MixtureUnit.Bytes },
        ("bytes", _) => throw new InvalidInputException("--tokenizer: only used with --unit tokens"),
        ("tokens", null) => throw new InvalidInputException("--unit tokens: needs --tokenizer (gpt2 or a tokenizer.json)"),
        ("tokens", _) => options with { Unit = MixtureUnit.Tokens, TokenCounter = Counter(TokenizerFactory.Load(tokenizer)) },
        _ => throw new InvalidInputException($"--unit: '{unit}' (bytes, tokens)"),
    };

    static Func<string, int> Counter(ITokenizer tokenizer) => text => tokenizer.Encode(text).Length;

    /// <summary>A positive count with an optional decimal suffix: k = 10³, M = 10⁶, G = 10⁹ (either case).</summary>
    /// <exception cref="InvalidInputException">Not a positive number of that form.</exception>
    public static long ParseSize(string text)
    {
        string number = text.Trim();
        double scale = number.Length == 0 ? 1 : char.ToLowerInvariant(number[^1]) switch { 'k' => 1e3, 'm' => 1e6, 'g' => 1e9, _ => 1 };
        if (scale != 1) number = number[..^1];
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value * scale >= 1) || value * scale > long.MaxValue)
            throw new InvalidInputException($"--total: '{text}' is not a positive size (e.g. 2500000, 500k, 1.5M, 2G)");
        return (long)Math.Round(value * scale);
    }

    static void PrintTable(MixtureReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var table = new Table().AddColumn("source").AddColumn(new TableColumn("target %").RightAligned()).AddColumn(new TableColumn("achieved %").RightAligned())
            .AddColumn(new TableColumn("docs").RightAligned()).AddColumn(new TableColumn(r.Unit).RightAligned()).AddColumn(new TableColumn("epochs").RightAligned());
        foreach (var s in r.Sources)
            table.AddRow(Markup.Escape(s.Name), (s.TargetProportion * 100).ToString("F2", c), (s.AchievedProportion * 100).ToString("F2", c),
                s.DocumentsWritten.ToString("N0", c), s.UnitsWritten.ToString("N0", c), s.Epochs.ToString("F2", c));
        table.AddRow("total", "100.00", "100.00", r.DocumentsWritten.ToString("N0", c), r.UnitsWritten.ToString("N0", c), "");
        AnsiConsole.Write(table);
    }
}
