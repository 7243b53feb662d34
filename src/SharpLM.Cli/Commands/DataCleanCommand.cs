using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpLM.Data.Cleaning;
using SharpLM.Data.Dedup;
using SharpLM.Data.Ingestion;
using SharpLM.Distributed;
using SharpLM.IO;
using SharpLM.Runtime;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm data clean`: quality filters → decontamination → de-duplication → PII redaction, streaming.</summary>
public static class DataCleanCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "Pipeline file (.json or .yaml): filters in order, dedup, PII, paths. Flags below that name stages cannot be combined with it; --input/--output/--rejected/--report/--threads override it." };
        var input = new Option<string?>("--input") { Description = ".txt/.jsonl (optionally .gz) or .parquet, a directory or a glob." };
        var output = new Option<string?>("--output") { Description = "Cleaned .jsonl (or .jsonl.gz)." };
        var rejected = new Option<string?>("--rejected") { Description = "Rejected documents with their reason (.jsonl[.gz])." };
        var report = new Option<string?>("--report") { Description = "report.json path (default: beside --output)." };
        var field = new Option<string>("--field") { Description = "JSON text field.", DefaultValueFactory = _ => "text" };
        var idField = new Option<string>("--id-field") { Description = "JSON id field.", DefaultValueFactory = _ => "id" };
        var paragraphs = new Option<bool>("--paragraphs") { Description = ".txt: one document per blank-line-separated paragraph." };
        var dedup = new Option<string>("--dedup") { Description = "none, exact or minhash (exact + near-duplicates).", DefaultValueFactory = _ => "minhash" };
        var lineDedup = new Option<string>("--line-dedup") { Description = "CCNet-style removal of lines seen in earlier documents: off, line or paragraph.", DefaultValueFactory = _ => "off" };
        var threshold = new Option<double>("--threshold") { Description = "MinHash Jaccard threshold.", DefaultValueFactory = _ => 0.8 };
        var pii = new Option<string>("--pii") { Description = "redact or off.", DefaultValueFactory = _ => "redact" };
        var lang = new Option<string?>("--lang") { Description = "Allowed languages, e.g. en,zh (en de fr es zh)." };
        var langConfidence = new Option<double>("--lang-confidence") { Description = "Minimum language confidence.", DefaultValueFactory = _ => 0.5 };
        var quality = new Option<string>("--quality") { Description = $"Comma list of filters ({CleaningStages.Names(CleaningStageKind.Filter)}; gopher and repetition still work) or none.", DefaultValueFactory = _ => "gopher,repetition" };
        var blocklist = new Option<string?>("--blocklist") { Description = "Block-list file, one term per line." };
        var decontaminate = new Option<string[]>("--decontaminate") { Description = "Evaluation .jsonl/.json file as PATH or NAME=PATH, or a data set name such as gsm8k (repeatable; by default the benchmark is the file name, or its folder's for test/dev/… splits)." };
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: all cores; under mpirun, the host's cores over its ranks).", DefaultValueFactory = _ => 0 };
        var stages = new Option<string?>("--stages") { Description = $"The stages by name, comma-separated, instead of --quality/--dedup/--pii ({CleaningStages.Names()}); their options come from the flags above (--lang, --blocklist, --reference, --decontaminate, --threshold, --line-dedup)." };
        var reference = new Option<string?>("--reference") { Description = "perplexity: reference corpus (.txt/.jsonl) of the character n-gram model." };

        var command = new Command("clean", "Clean a corpus: quality filters, decontamination, de-duplication and PII redaction, with a report.")
        {
            config, input, output, rejected, report, field, idField, paragraphs, dedup, lineDedup, threshold, pii, lang, langConfidence, quality, blocklist, decontaminate, threads, stages, reference,
        };
        Option[] stageFlags = [field, idField, paragraphs, dedup, lineDedup, threshold, pii, lang, langConfidence, quality, blocklist, decontaminate, stages, reference];
        command.SetAction(parse =>
        {
            CleaningPipelineOptions options;
            CorpusOptions corpus;
            string? inputPath = parse.GetValue(input), outputPath = parse.GetValue(output), rejectedPath = parse.GetValue(rejected), reportPath = parse.GetValue(report);
            if (parse.GetValue(config) is string configPath)
            {
                if (stageFlags.FirstOrDefault(f => parse.GetResult(f) is { Implicit: false }) is Option given)
                    throw new InvalidInputException($"{given.Name}: give stage settings either in --config {configPath} or as flags, not both");
                var file = CleaningConfig.Load(configPath, inputPath);
                options = file.Pipeline with { Threads = parse.GetResult(threads) is { Implicit: false } ? parse.GetValue(threads) : file.Pipeline.Threads };
                corpus = file.Reader;
                inputPath ??= file.Input;
                outputPath ??= file.Output;
                rejectedPath ??= file.Rejected;
                reportPath ??= file.Report;
            }
            else
            {
                (options, corpus) = FromFlags(parse);
            }
            if (inputPath is null) throw new InvalidInputException("--input: required (or 'input' in the --config file)");
            if (outputPath is null) throw new InvalidInputException("--output: required (or 'output' in the --config file)");
            return Run(inputPath, outputPath, rejectedPath, reportPath, options, corpus);
        });
        return command;

        (CleaningPipelineOptions, CorpusOptions) FromFlags(ParseResult parse)
        {
            if (parse.GetValue(lineDedup) is not ("off" or "line" or "paragraph") and var mode) throw new InvalidInputException($"--line-dedup: '{mode}' (off, line, paragraph)");
            var corpus = new CorpusOptions { TextField = parse.GetValue(field)!, IdField = parse.GetValue(idField)!, TxtParagraphs = parse.GetValue(paragraphs) };
            var names = new List<(string Name, string Where)>();
            if (parse.GetValue(stages) is string list)
            {
                if (new Option[] { quality, dedup, pii }.FirstOrDefault(f => parse.GetResult(f) is { Implicit: false }) is Option selector)
                    throw new InvalidInputException($"{selector.Name}: name the stages either with --stages or with {selector.Name}, not both");
                foreach (string name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) names.Add((name, "--stages"));
            }
            else
            {
                // The older selectors, read as stage names of the registry.
                if (parse.GetValue(lang) is not null) names.Add(("language", "--lang"));
                foreach (string q in parse.GetValue(quality)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    if (q != "none") names.Add((CleaningStages.Resolve(q, "--quality", CleaningStageKind.Filter).Name, "--quality"));
                if (parse.GetValue(blocklist) is not null) names.Add(("keywords", "--blocklist"));
                if (parse.GetValue(reference) is not null) names.Add(("perplexity", "--reference"));
                if (parse.GetValue(decontaminate) is { Length: > 0 }) names.Add((CleaningStages.Decontamination, "--decontaminate"));
                string dedupMode = parse.GetValue(dedup)!;
                if (dedupMode is not ("none" or "exact" or "minhash")) throw new InvalidInputException($"--dedup: '{dedupMode}' (none, exact, minhash)");
                if (dedupMode != "none") names.Add((CleaningStages.ExactDedup, "--dedup"));
                if (dedupMode == "minhash") names.Add((CleaningStages.MinHashDedup, "--dedup"));
                if (parse.GetValue(lineDedup) != "off") names.Add((CleaningStages.LineDedup, "--line-dedup"));
                string piiMode = parse.GetValue(pii)!;
                if (piiMode is not ("redact" or "off")) throw new InvalidInputException($"--pii: '{piiMode}' (redact, off)");
                if (piiMode == "redact") names.Add((CleaningStages.Pii, "--pii"));
            }

            var builder = CleaningPipelineBuilder.Empty();
            var context = new CleaningStageContext(path => path, parse.GetValue(input), corpus);
            var seen = new HashSet<string>();
            foreach (var (name, where) in names)
            {
                var info = CleaningStages.Resolve(name, where);
                if (!seen.Add(info.Name)) throw new InvalidInputException($"{where}: stage '{info.Name}' is named twice");
                var (options, flag) = FlagOptions(parse, info.Name);
                info.Configure(builder, options, context, flag ?? where);
            }
            return (builder.Build(parse.GetValue(threads), new CleaningPipelineOptions().BatchSize), corpus);
        }

        // A stage's options as the pipeline file would give them, from the flags that set them, and the flag to blame.
        (JsonElement Options, string? Flag) FlagOptions(ParseResult parse, string stage) => stage switch
        {
            "language" => (Element(new { allowed = Split(parse.GetValue(lang)), min_confidence = parse.GetValue(langConfidence) }), "--lang"),
            "keywords" when parse.GetValue(blocklist) is string file => (Element(new { file }), "--blocklist"),
            "keywords" => (Element(new { }), "--blocklist"),
            "perplexity" => (Element(new { reference = parse.GetValue(reference) }), "--reference"),
            CleaningStages.Decontamination => (Element(parse.GetValue(decontaminate) ?? []), "--decontaminate"),
            CleaningStages.MinHashDedup => (Element(new { threshold = parse.GetValue(threshold) }), "--threshold"),
            CleaningStages.LineDedup => (Element(new { unit = parse.GetValue(lineDedup) == "paragraph" ? "paragraph" : "line" }), "--line-dedup"),
            _ => (default, null),
        };

        static string[] Split(string? list) => list?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        static JsonElement Element<T>(T value) => JsonSerializer.SerializeToElement(value);
    }

    static int Run(string input, string outPath, string? rejectedPath, string? reportPath, CleaningPipelineOptions options, CorpusOptions corpus)
    {
        if (Mpi.Launched) return RunRanks(input, outPath, rejectedPath, reportPath, options, corpus);
        var reader = new CorpusReader(corpus);
        var bad = new List<BadRecord>();
        using var kept = new JsonlWriter(outPath);
        using var rejects = rejectedPath is null ? null : new JsonlWriter(rejectedPath);
        var read = new ReadProgress();
        var documents = reader.Read(input, bad.Add, read);
        var start = DateTime.UtcNow;
        var lastShown = DateTime.MinValue;
        var result = new CleaningPipeline(options).Run(documents, kept, rejects, () => bad, (docs, bytes) =>
        {
            if (DateTime.UtcNow - lastShown < TimeSpan.FromSeconds(1)) return;
            lastShown = DateTime.UtcNow;
            double s = Math.Max(1e-9, (DateTime.UtcNow - start).TotalSeconds), done = read.Fraction;
            var eta = TimeSpan.FromSeconds(done > 0 ? Math.Round(s * (1 - done) / done) : 0);
            string line = string.Create(CultureInfo.InvariantCulture,
                $"{done,4:P0} {docs:N0} docs, {bytes / 1e6:F1} MB of text, {docs / s:N0} docs/s, {read.BytesRead / 1e6 / s:F1} MB/s of input, ETA {eta:m\\:ss}");
            // A terminal gets one self-overwriting line with a bar; a log gets a line a second.
            if (Console.IsErrorRedirected) Console.Error.WriteLine(line);
            else Console.Error.Write($"\r[{new string('#', (int)(done * 20)),-20}] {line}   ");
        });
        Console.Error.WriteLine();
        return Finish(kept, rejects, outPath, reportPath, result);
    }

    /// <summary>
    /// Under mpirun: each rank cleans a contiguous share of the documents, duplicates across ranks are found from
    /// exchanged keys, and rank 0 writes output and report exactly as one process would (<see cref="DistributedCleaning"/>).
    /// </summary>
    static int RunRanks(string input, string outPath, string? rejectedPath, string? reportPath, CleaningPipelineOptions options, CorpusOptions corpus)
    {
        var mpi = Mpi.Start();
        var reader = new CorpusReader(corpus);
        using var kept = mpi.Rank == 0 ? new JsonlWriter(outPath) : null;
        using var rejects = mpi.Rank == 0 && rejectedPath is not null ? new JsonlWriter(rejectedPath) : null;
        if (mpi.Rank == 0) Console.Error.WriteLine($"cleaning over {mpi.Size} MPI ranks");
        var result = new DistributedCleaning(options, mpi).Run(onBad => reader.Read(input, onBad), kept, rejects, rejectedPath is not null);
        return mpi.Rank == 0 ? Finish(kept!, rejects, outPath, reportPath, result) : 0;
    }

    static int Finish(JsonlWriter kept, JsonlWriter? rejects, string outPath, string? reportPath, CleaningReport result)
    {
        kept.Commit();
        rejects?.Commit();
        reportPath ??= Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outPath))!, "report.json");
        AtomicFile.WriteAllText(reportPath, JsonSerializer.Serialize(result, Json.Options));
        PrintTable(result);
        Console.WriteLine($"kept {kept.Count:N0} documents → {outPath}; report → {reportPath}");
        return 0;
    }

    static void PrintTable(CleaningReport r)
    {
        // Redirected output defaults to 80 columns, which folds the reason names mid-word.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 120);
        var table = new Table().AddColumn("stage").AddColumn(new TableColumn("docs in").RightAligned()).AddColumn(new TableColumn("docs out").RightAligned())
            .AddColumn(new TableColumn("MB in").RightAligned()).AddColumn(new TableColumn("MB out").RightAligned()).AddColumn("rejected by reason");
        var c = CultureInfo.InvariantCulture;
        foreach (string name in r.StageOrder)
        {
            var s = r.Stages[name];
            table.AddRow(name, s.DocumentsIn.ToString("N0", c), s.DocumentsOut.ToString("N0", c), (s.BytesIn / 1e6).ToString("F2", c), (s.BytesOut / 1e6).ToString("F2", c),
                Markup.Escape(string.Join("\n", s.Rejected.Select(kv => $"{kv.Key} {kv.Value:N0}"))));
        }
        AnsiConsole.Write(table);
        if (r.Stages.ContainsKey("line_dedup")) Console.WriteLine($"duplicate lines removed from kept documents: {r.DuplicateLinesRemoved:N0}");
        string pii = !r.Stages.ContainsKey("pii") ? "off" : r.PiiRedactions.Count == 0 ? "none" : string.Join(", ", r.PiiRedactions.Select(kv => $"{kv.Key} {kv.Value:N0}"));
        Console.WriteLine($"bad records {r.BadRecords:N0}; PII redacted: {pii}; " +
            $"{r.DocumentsPerSecond:N0} docs/s, {r.MegabytesPerSecond:F1} MB/s of text, peak working set {r.PeakWorkingSetMb:F0} MB");
        if (r.Lsh is not null) Console.WriteLine($"MinHash-LSH: {r.Lsh}");
    }
}
