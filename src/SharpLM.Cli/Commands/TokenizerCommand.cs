using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using SharpLM.Data;
using SharpLM.Tokenization;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm tokenizer train|encode|decode`.</summary>
public static class TokenizerCommand
{
    public static Command Create() => new("tokenizer", "Train byte-level BPE tokenizers and encode or decode text.")
    {
        Train(), Encode(), Decode(),
    };

    static Command Train()
    {
        var input = new Option<string>("--input") { Description = ".txt, .jsonl or a directory of them.", Required = true };
        var vocab = new Option<int>("--vocab-size") { Description = "Total vocabulary size, special tokens included.", DefaultValueFactory = _ => 4096 };
        var output = new Option<string>("--out") { Description = "Directory for tokenizer.json.", Required = true };
        var field = new Option<string>("--field") { Description = "JSON field holding the text in .jsonl input.", DefaultValueFactory = _ => "text" };
        var special = new Option<string[]>("--special-token") { Description = "Special token (repeatable; default <|endoftext|>)." };
        var minFrequency = new Option<int>("--min-frequency") { Description = "Never merge a pair seen fewer times.", DefaultValueFactory = _ => 2 };
        var command = new Command("train", "Train a byte-level BPE tokenizer (GPT-2 pre-tokenisation); writes a Hugging Face tokenizer.json.")
        {
            input, vocab, output, field, special, minFrequency,
        };
        command.SetAction(parse =>
        {
            string[] specials = parse.GetValue(special) is { Length: > 0 } s ? s : [BpeTokenizer.EndOfText];
            var options = new BpeTrainerOptions { VocabSize = parse.GetValue(vocab), SpecialTokens = specials, MinFrequency = parse.GetValue(minFrequency) };
            BpeTrainer trainer;
            try
            {
                trainer = new BpeTrainer(options);
            }
            catch (ArgumentException e)
            {
                throw new InvalidInputException($"tokenizer train: {e.Message.Split(" (Parameter")[0]}", e);
            }
            var sw = Stopwatch.StartNew();
            trainer.AddDocuments(DocumentReader.Read(Corpora.Resolve(parse.GetValue(input)!), parse.GetValue(field)!).Select(d => d.Text));
            BpeTokenizer tokenizer = trainer.Train();
            string outDir = parse.GetValue(output)!;
            tokenizer.Save(outDir);
            Console.WriteLine($"trained {tokenizer.VocabSize} tokens ({tokenizer.Merges.Count} merges) in {sw.Elapsed.TotalSeconds:F1} s → {TokenizerFile.PathIn(outDir)}");
            return 0;
        });
        return command;
    }

    static Option<string> TokenizerOption() =>
        new("--tokenizer") { Description = "gpt2, or a tokenizer.json / directory holding one.", Required = true };

    static Command Encode()
    {
        var tokenizer = TokenizerOption();
        var text = new Option<string?>("--text") { Description = "Text to encode." };
        var input = new Option<string?>("--input") { Description = "File to encode (instead of --text)." };
        var command = new Command("encode", "Print the token ids of a text as a JSON array.") { tokenizer, text, input };
        command.SetAction(parse =>
        {
            var tok = TokenizerFactory.Load(parse.GetValue(tokenizer)!);
            Console.WriteLine(JsonSerializer.Serialize(tok.Encode(ReadText(parse.GetValue(text), parse.GetValue(input)))));
            return 0;
        });
        return command;
    }

    static Command Decode()
    {
        var tokenizer = TokenizerOption();
        var ids = new Option<string?>("--ids") { Description = "Ids as a JSON array or comma-separated list." };
        var input = new Option<string?>("--input") { Description = "File holding the ids (instead of --ids)." };
        var command = new Command("decode", "Print the text of token ids.") { tokenizer, ids, input };
        command.SetAction(parse =>
        {
            var tok = TokenizerFactory.Load(parse.GetValue(tokenizer)!);
            string raw = ReadText(parse.GetValue(ids), parse.GetValue(input));
            int[] values;
            try
            {
                values = raw.Split(new[] { ',', '[', ']', ' ', '\n', '\r', '\t' }, StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                throw new InvalidInputException("--ids: expected integers separated by commas");
            }
            foreach (int id in values)
                if (id < 0 || id >= tok.VocabSize) throw new InvalidInputException($"--ids: id {id} is outside the vocabulary (0..{tok.VocabSize - 1})");
            Console.WriteLine(tok.Decode(values));
            return 0;
        });
        return command;
    }

    static string ReadText(string? inline, string? file)
    {
        if ((inline is null) == (file is null)) throw new InvalidInputException("give exactly one of --text/--ids or --input");
        if (file is null) return inline!;
        if (!File.Exists(file)) throw InvalidInputException.ForFile(file, "file not found");
        return File.ReadAllText(file);
    }
}
