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

        var command = new Command("sample", "Generate text from a checkpoint, streaming to the console.")
        {
            prompt, maxNew, temperature, topK, topP, penalty, stop, seed, noCache,
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
