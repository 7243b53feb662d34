using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpLM.Modeling.NGram;
using SharpLM.Runtime;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm ngram train|eval`: the survey's statistical LM — Kneser-Ney n-grams in the ARPA format.</summary>
public static class NGramCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Training text, one sentence (or line) per line; streamed.", Required = true };
        var order = new Option<int>("--order") { Description = "n of the n-grams.", DefaultValueFactory = _ => 5 };
        var unit = new Option<string>("--unit") { Description = "word or char.", DefaultValueFactory = _ => "word" };
        var smoothing = new Option<string>("--smoothing") { Description = "modified (Chen & Goodman) or plain (one discount, as NLTK).", DefaultValueFactory = _ => "modified" };
        var discount = new Option<double>("--discount") { Description = "plain: the discount.", DefaultValueFactory = _ => 0.75 };
        var minCount = new Option<int>("--min-count") { Description = "Rarer tokens become <unk>.", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "ARPA file to write (KenLM and SRILM read it).", Required = true };
        var heldOut = new Option<string?>("--eval") { Description = "Held-out text to report perplexity and bits per character on." };
        var train = new Command("train", "Count n-grams, estimate interpolated Kneser-Ney, write ARPA.") { data, order, unit, smoothing, discount, minCount, output, heldOut };
        train.SetAction(parse =>
        {
            var tokenization = Unit(parse.GetValue(unit)!);
            if (parse.GetValue(order) < 1) throw new InvalidInputException("--order: must be at least 1");
            if (parse.GetValue(minCount) < 1) throw new InvalidInputException("--min-count: must be at least 1");
            if (parse.GetValue(discount) is <= 0 or >= 1) throw new InvalidInputException("--discount: must be in (0, 1)");
            var counts = NGramCounts.FromFile(parse.GetValue(data)!, parse.GetValue(order), tokenization, parse.GetValue(minCount));
            var model = parse.GetValue(smoothing) switch
            {
                "modified" => KneserNeyModel.Modified(counts),
                "plain" => KneserNeyModel.Plain(counts, parse.GetValue(discount)),
                var s => throw new InvalidInputException($"--smoothing: '{s}' (modified, plain)"),
            };
            ArpaFormat.Write(model, parse.GetValue(output)!);
            Console.Error.WriteLine($"wrote {parse.GetValue(output)} ({string.Join(", ", Enumerable.Range(1, counts.Order).Select(k => $"{counts.Types(k):N0} {k}-grams"))})");
            if (parse.GetValue(heldOut) is string path) Report(model.EvaluateFile(path), path);
            return 0;
        });

        var arpa = new Option<string>("--model") { Description = "ARPA file.", Required = true };
        var text = new Option<string>("--data") { Description = "Text to score.", Required = true };
        var evalUnit = new Option<string>("--unit") { Description = "word or char: as the model was trained.", DefaultValueFactory = _ => "word" };
        var eval = new Command("eval", "Perplexity and bits per character of a text under an ARPA model.") { arpa, text, evalUnit };
        eval.SetAction(parse =>
        {
            var model = ArpaFormat.Read(parse.GetValue(arpa)!, Unit(parse.GetValue(evalUnit)!));
            Report(model.EvaluateFile(parse.GetValue(text)!), parse.GetValue(text)!);
            return 0;
        });
        return new Command("ngram", "Statistical n-gram language models (Kneser-Ney, ARPA).") { train, eval };
    }

    static NGramTokenization Unit(string unit) => unit switch
    {
        "word" => NGramTokenization.Words,
        "char" => NGramTokenization.Characters,
        _ => throw new InvalidInputException($"--unit: '{unit}' (word, char)"),
    };

    static void Report(NGramEvaluation e, string path)
    {
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            data = path, perplexity = Math.Round(e.Perplexity, 4), bits_per_character = Math.Round(e.BitsPerCharacter, 4),
            tokens = e.Tokens, characters = e.Characters,
        }, Json.Line));
        Console.Error.WriteLine(string.Create(c, $"{path}: perplexity {e.Perplexity:F3} over {e.Tokens:N0} tokens, {e.BitsPerCharacter:F4} bits per character"));
    }
}
