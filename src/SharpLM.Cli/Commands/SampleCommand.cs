using System.CommandLine;
using SharpLM.Inference;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm sample`: streams a continuation of a prompt from a checkpoint.</summary>
public static class SampleCommand
{
    public static Command Create()
    {
        var ckpt = new CheckpointOptions();
        var prompt = new Option<string>("--prompt") { Description = "Text to continue.", DefaultValueFactory = _ => "\n" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens to generate.", DefaultValueFactory = _ => 500 };
        var temperature = new Option<double>("--temperature") { Description = "Softmax temperature; 0 = greedy.", DefaultValueFactory = _ => 0.8 };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0 = all).", DefaultValueFactory = _ => 200 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling threshold (1 = off).", DefaultValueFactory = _ => 1.0 };
        var penalty = new Option<double>("--repetition-penalty") { Description = "Penalty > 1 discourages repeating context tokens.", DefaultValueFactory = _ => 1.0 };
        var stop = new Option<string[]>("--stop") { Description = "Stop before this string (repeatable; \\n and \\t are understood).", AllowMultipleArgumentsPerToken = false };
        var seed = new Option<ulong>("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 1337UL };
        var noCache = new Option<bool>("--no-kv-cache") { Description = "Recompute the whole context each token (same output, slower)." };
        var beams = new Option<int>("--beams") { Description = "Beam search with this width instead of sampling (1 = off); prints the best hypothesis.", DefaultValueFactory = _ => 1 };
        var lengthPenalty = new Option<double>("--length-penalty") { Description = "Beam search: score = log-probability / length^penalty (> 0 favours longer outputs).", DefaultValueFactory = _ => 1.0 };
        var earlyStopping = new Option<bool>("--early-stopping") { Description = "Beam search: stop once --beams hypotheses have finished." };
        var draft = new Option<string?>("--draft") { Description = "Speculative decoding: a small model with the same tokenizer (run directory, hf:DIR or gguf:FILE) proposes tokens the checkpoint verifies." };
        var lookahead = new Option<int>("--lookahead") { Description = "Speculative decoding: draft tokens per verification.", DefaultValueFactory = _ => 4 };

        var command = new Command("sample", "Generate text from a checkpoint, streaming to the console.")
        {
            prompt, maxNew, temperature, topK, topP, penalty, stop, seed, noCache, beams, lengthPenalty, earlyStopping, draft, lookahead,
        };
        ckpt.AddTo(command);
        command.SetAction(parse =>
        {
            var bundle = ckpt.Load(parse);
            var options = new SamplingOptions
            {
                MaxNewTokens = parse.GetValue(maxNew), Temperature = parse.GetValue(temperature), TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP), RepetitionPenalty = parse.GetValue(penalty), StopStrings = (parse.GetValue(stop) ?? []).Select(Unescape).ToArray(),
                Seed = parse.GetValue(seed), UseKvCache = !parse.GetValue(noCache),
            }.Validate();
            string text = parse.GetValue(prompt)!;
            if (parse.GetValue(beams) > 1 && parse.GetValue(draft) is not null) throw new InvalidInputException("--beams and --draft are different decoding strategies: give one");
            if (parse.GetValue(beams) > 1)
            {
                var found = BeamSearch.Search(bundle.Model, bundle.Tokenizer.Encode(text), new BeamSearchOptions
                {
                    Width = parse.GetValue(beams), MaxNewTokens = parse.GetValue(maxNew), LengthPenalty = parse.GetValue(lengthPenalty), EarlyStopping = parse.GetValue(earlyStopping),
                }, bundle.Tokenizer.EndOfTextId, bundle.Device);
                Console.WriteLine(text + bundle.Tokenizer.Decode(found[0].Tokens.Where(t => t != bundle.Tokenizer.EndOfTextId).ToArray()));
                return 0;
            }
            if (parse.GetValue(draft) is string draftSpec)
            {
                var helper = SharpLM.Adaptation.ModelBundle.Load(draftSpec, bundle.Device);
                var speculative = new SpeculativeDecoder(bundle.Decoder("speculative decoding"), helper.Decoder("a draft model"), bundle.Device, parse.GetValue(lookahead));
                int[] made = speculative.GenerateTokens(bundle.Tokenizer.Encode(text), options, bundle.Tokenizer.EndOfTextId).ToArray();
                Console.WriteLine(text + bundle.Tokenizer.Decode(made));
                Console.Error.WriteLine($"draft acceptance {speculative.Stats.AcceptanceRate:P1}: {speculative.Stats.TargetPasses} target passes for {made.Length} tokens");
                return 0;
            }
            Console.Write(text);
            foreach (string piece in new Generator(bundle.Model, bundle.Tokenizer, bundle.Device).Stream(text, options))
            {
                Console.Write(piece);
                Console.Out.Flush();
            }
            Console.WriteLine();
            return 0;
        });
        return command;
    }

    /// <summary>Shells pass "\n" literally; stop strings are usually line breaks.</summary>
    static string Unescape(string s) => s.Replace("\\n", "\n").Replace("\\t", "\t").Replace("\\r", "\r");
}
