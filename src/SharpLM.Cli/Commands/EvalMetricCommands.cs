using System.CommandLine;
using System.Text.Json;
using SharpLM.Evaluation.Metrics;
using SharpLM.Runtime;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm eval bleu|chrf|ter|rouge`: score plain files (one segment per line) and print JSON.</summary>
public static class EvalMetricCommands
{
    public static Command Bleu()
    {
        var (hyp, refs) = Files();
        var tokenize = new Option<string>("--tokenize") { Description = "13a, intl, char, none or zh (sacrebleu's tokenizers).", DefaultValueFactory = _ => "13a" };
        var lowercase = new Option<bool>("--lowercase") { Description = "Case-insensitive." };
        var smooth = new Option<string>("--smooth") { Description = "exp, floor, add-k or none.", DefaultValueFactory = _ => "exp" };
        var command = new Command("bleu", "Corpus BLEU exactly as sacrebleu, with its signature.") { hyp, refs, tokenize, lowercase, smooth };
        command.SetAction(parse =>
        {
            var (h, r) = Read(parse, hyp, refs);
            var options = BleuOptions.CorpusDefault with
            {
                Tokenizer = BleuTokenizer.FromName(parse.GetValue(tokenize)!), Lowercase = parse.GetValue(lowercase),
                Smoothing = parse.GetValue(smooth) switch
                {
                    "exp" => BleuSmoothing.Exp, "floor" => BleuSmoothing.Floor, "add-k" => BleuSmoothing.AddK, "none" => BleuSmoothing.None,
                    var s => throw new InvalidInputException($"--smooth: '{s}' (exp, floor, add-k, none)"),
                },
            };
            return Print(Evaluation.Metrics.Bleu.Corpus(h, r, options));
        });
        return command;
    }

    public static Command Chrf()
    {
        var (hyp, refs) = Files();
        var wordOrder = new Option<int>("--word-order") { Description = "0 for chrF, 2 for chrF++.", DefaultValueFactory = _ => 0 };
        var command = new Command("chrf", "Corpus chrF / chrF++ exactly as sacrebleu.") { hyp, refs, wordOrder };
        command.SetAction(parse =>
        {
            var (h, r) = Read(parse, hyp, refs);
            return Print(Evaluation.Metrics.Chrf.Corpus(h, r, new ChrfOptions { WordOrder = parse.GetValue(wordOrder) }));
        });
        return command;
    }

    public static Command Ter()
    {
        var (hyp, refs) = Files();
        var command = new Command("ter", "Corpus TER exactly as sacrebleu.") { hyp, refs };
        command.SetAction(parse =>
        {
            var (h, r) = Read(parse, hyp, refs);
            return Print(Evaluation.Metrics.Ter.Corpus(h, r, new TerOptions()));
        });
        return command;
    }

    public static Command Rouge()
    {
        var (hyp, refs) = Files();
        var stem = new Option<bool>("--stem") { Description = "Porter stemming (as rouge_score's use_stemmer)." };
        var command = new Command("rouge", "ROUGE-1/2/L/Lsum exactly as rouge_score: the mean over segments, with 95% bootstrap intervals.") { hyp, refs, stem };
        command.SetAction(parse =>
        {
            var (h, r) = Read(parse, hyp, refs);
            var scorer = new RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], parse.GetValue(stem));
            var aggregator = new BootstrapAggregator();
            for (int i = 0; i < h.Count; i++)
                // Segment lines hold "\n" escaped as the two characters \n, so rougeLsum can see sentences.
                aggregator.AddScores(scorer.ScoreMulti(r.Select(stream => stream[i]!.Replace("\\n", "\n")).ToArray(), h[i].Replace("\\n", "\n")));
            return Print(aggregator.Aggregate());
        });
        return command;
    }

    static (Option<string> Hyp, Option<string[]> Refs) Files() =>
        (new Option<string>("--hyp") { Description = "Hypotheses, one segment per line.", Required = true },
         new Option<string[]>("--ref") { Description = "References, one segment per line (repeat for several reference sets).", Required = true });

    static (IReadOnlyList<string> Hyp, IReadOnlyList<IReadOnlyList<string?>> Refs) Read(ParseResult parse, Option<string> hyp, Option<string[]> refs)
    {
        var h = Lines(parse.GetValue(hyp)!);
        var r = parse.GetValue(refs)!.Select(path =>
        {
            var lines = Lines(path);
            return lines.Count == h.Count ? (IReadOnlyList<string?>)lines.ToArray()
                : throw InvalidInputException.ForFile(path, $"{lines.Count} lines, but the hypotheses have {h.Count}");
        }).ToArray();
        return (h, r);
    }

    static List<string> Lines(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "file not found");
        var lines = File.ReadAllText(path).Split('\n').ToList();
        if (lines.Count > 0 && lines[^1] == "") lines.RemoveAt(lines.Count - 1); // the final newline ends the last segment
        return lines.Select(l => l.TrimEnd('\r')).ToList();
    }

    static int Print(object score)
    {
        Console.WriteLine(JsonSerializer.Serialize(score, Json.Options));
        return 0;
    }
}
