using System.CommandLine;
using SharpLM.Tokenization;
using SharpLM.Utilization.Prompting;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm prompt lint|render`: prompt files (the survey's prompt ingredients as data).</summary>
public static class PromptCommand
{
    public static Command Create() => new("prompt", "Prompt files: check them for common mistakes, or render one.")
    {
        Lint(), Render(),
    };

    static Command Lint()
    {
        var files = new Argument<string[]>("files") { Description = "Prompt files (.yaml).", Arity = ArgumentArity.OneOrMore };
        var window = new Option<int?>("--context-tokens") { Description = "The model's context window: prompts longer than it are reported." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Count tokens with this tokenizer (gpt2, or a tokenizer.json / run directory); default: characters." };
        var command = new Command("lint", "Report unbound variables, demonstrations that break the output format, a missing output format, prompts too long for the model and contradictory constraints, as FILE:LINE: CHECK: MESSAGE; exits 1 when anything is found.")
        {
            files, window, tokenizer,
        };
        command.SetAction(parse =>
        {
            Func<string, int>? count = null;
            if (parse.GetValue(tokenizer) is string t)
            {
                ITokenizer tok = TokenizerFactory.Load(t);
                count = text => tok.Encode(text).Length;
            }
            int found = 0;
            foreach (string file in parse.GetValue(files)!)
                foreach (var finding in PromptLint.Check(PromptFile.Load(file), parse.GetValue(window), count))
                {
                    Console.WriteLine(finding);
                    found++;
                }
            Console.Error.WriteLine(found == 0 ? "no problems found" : $"{found} problem{(found == 1 ? "" : "s")} found");
            return found == 0 ? 0 : 1;
        });
        return command;
    }

    static Command Render()
    {
        var file = new Argument<string>("file") { Description = "A prompt file (.yaml)." };
        var vars = new Option<string[]>("--var") { Description = "A variable as name=value (repeatable)." };
        var command = new Command("render", "Print the prompt a file makes for the given variables.") { file, vars };
        command.SetAction(parse =>
        {
            var bound = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string v in parse.GetValue(vars) ?? [])
            {
                int eq = v.IndexOf('=');
                if (eq <= 0) throw new InvalidInputException($"--var {v}: expected name=value");
                bound[v[..eq]] = v[(eq + 1)..].Replace("\\n", "\n");
            }
            Console.WriteLine(PromptFile.Load(parse.GetValue(file)!).Render(bound));
            return 0;
        });
        return command;
    }
}
