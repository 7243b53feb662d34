using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpLM.Evaluation;
using SharpLM.Runtime;
using SharpLM.Tokenization;
using SharpLM.Utilization.Prompting;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm prompt lint|render|run|ab`: prompt files (the survey's prompt ingredients as data).</summary>
public static class PromptCommand
{
    public static Command Create() => new("prompt", "Prompt files: check them for common mistakes, render or run one, or compare two on a dev set.")
    {
        Lint(), Render(), Run(), Ab(),
    };

    static Command Run()
    {
        var file = new Argument<string>("file") { Description = "A prompt file (.yaml)." };
        var vars = VarOption();
        var model = new Option<string>("--model") { Description = "checkpoint:DIR, or openai:URL[,model=NAME] (as eval run).", Required = true };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens of the answer.", DefaultValueFactory = _ => 64 };
        var command = new Command("run", "Render a prompt file with the given variables, let the model answer (greedy, until a blank line), and check the answer's first line against the file's constraints.")
        {
            file, vars, model, maxTokens,
        };
        command.SetAction(async (parse, cancel) =>
        {
            var prompt = PromptFile.Load(parse.GetValue(file)!);
            string text = prompt.Render(Variables(parse.GetValue(vars)));
            using var spec = ModelSpec.Open(parse.GetValue(model)!, TorchSharp.torch.CPU, batchSize: 1);
            var outputs = await spec.Model.GenerateAsync([new Evaluation.Harness.GenerationRequest(text, ["\n\n"], parse.GetValue(maxTokens))], cancel);
            string answer = outputs[0].Trim();
            Console.WriteLine(answer);
            if (prompt.Constraints?.Violation(answer.Split('\n')[0]) is { } problem)
            {
                Console.Error.WriteLine($"the answer {problem}");
                return 1;
            }
            return 0;
        });
        return command;
    }

    static Option<string[]> VarOption() => new("--var") { Description = "A variable as name=value (repeatable; \\n for a newline)." };

    static Dictionary<string, string> Variables(string[]? values)
    {
        var bound = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string v in values ?? [])
        {
            int eq = v.IndexOf('=');
            if (eq <= 0) throw new InvalidInputException($"--var {v}: expected name=value");
            bound[v[..eq]] = v[(eq + 1)..].Replace("\\n", "\n");
        }
        return bound;
    }

    static Command Ab()
    {
        var a = new Option<string>("--a") { Description = "Prompt file A.", Required = true };
        var b = new Option<string>("--b") { Description = "Prompt file B.", Required = true };
        var data = new Option<string>("--data") { Description = "Dev rows (JSONL or a JSON array): fields bind the prompts' variables.", Required = true };
        var answer = new Option<string>("--answer-field") { Description = "The field holding the gold answer.", DefaultValueFactory = _ => "answer" };
        var model = new Option<string>("--model") { Description = "checkpoint:DIR, or openai:URL[,model=NAME] (as eval run).", Required = true };
        var limit = new Option<int?>("--limit") { Description = "Only the first N rows." };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens per answer (the first line is scored).", DefaultValueFactory = _ => 32 };
        var resamples = new Option<int>("--resamples") { Description = "Paired bootstrap resamples.", DefaultValueFactory = _ => 1000 };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 1234UL };
        var output = new Option<string?>("--out") { Description = "Also write the comparison (with every answer) as JSON here." };
        var command = new Command("ab", "Run prompts A and B on the same dev rows and compare exact match with a paired bootstrap: B − A, its 95% interval and a verdict.")
        {
            a, b, data, answer, model, limit, maxTokens, resamples, seed, output,
        };
        command.SetAction(async (parse, cancel) =>
        {
            using var spec = ModelSpec.Open(parse.GetValue(model)!, TorchSharp.torch.CPU, batchSize: 16);
            var result = await PromptComparison.RunAsync(spec.Model, PromptFile.Load(parse.GetValue(a)!), PromptFile.Load(parse.GetValue(b)!), parse.GetValue(data)!,
                parse.GetValue(answer)!, parse.GetValue(limit), parse.GetValue(maxTokens), null, parse.GetValue(resamples), parse.GetValue(seed), cancel);
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c, $"A {result.A.Prompt}: exact match {result.A.Accuracy:P1} on {result.A.Scores.Count} rows"));
            Console.WriteLine(string.Create(c, $"B {result.B.Prompt}: exact match {result.B.Accuracy:P1}"));
            Console.WriteLine(string.Create(c, $"B − A: {result.Difference * 100:+0.0;-0.0;0.0} points, 95% interval [{result.Low * 100:+0.0;-0.0;0.0}, {result.High * 100:+0.0;-0.0;0.0}] ({result.Resamples} paired resamples): {result.Verdict}"));
            if (parse.GetValue(output) is string path) IO.AtomicFile.WriteAllText(path, JsonSerializer.Serialize(result, Json.Options));
            return 0;
        });
        return command;
    }

    static Command Lint()
    {
        var files = new Argument<string[]>("files") { Description = "Prompt files or evaluation task files (.yaml).", Arity = ArgumentArity.OneOrMore };
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
            {
                var (findings, dataProblem) = Evaluation.Harness.TaskLint.LintFile(file, parse.GetValue(window), count);
                if (dataProblem is not null) Console.Error.WriteLine(dataProblem);
                foreach (var finding in findings)
                {
                    Console.WriteLine(finding);
                    found++;
                }
            }
            Console.Error.WriteLine(found == 0 ? "no problems found" : $"{found} problem{(found == 1 ? "" : "s")} found");
            return found == 0 ? 0 : 1;
        });
        return command;
    }

    static Command Render()
    {
        var file = new Argument<string>("file") { Description = "A prompt file (.yaml)." };
        var vars = VarOption();
        var command = new Command("render", "Print the prompt a file makes for the given variables.") { file, vars };
        command.SetAction(parse =>
        {
            Console.WriteLine(PromptFile.Load(parse.GetValue(file)!).Render(Variables(parse.GetValue(vars))));
            return 0;
        });
        return command;
    }
}
