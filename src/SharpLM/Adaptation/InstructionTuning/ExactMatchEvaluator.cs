using SharpLM.Adaptation.Formatting;
using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using TorchSharp;

namespace SharpLM.Adaptation.InstructionTuning;

/// <summary>
/// Held-out exact match: each prompt is rendered with the chat template and a generation prompt, answered
/// greedily until the end-of-turn token, and compared with the reference after trimming whitespace.
/// </summary>
public sealed class ExactMatchEvaluator(LanguageModel model, ITokenizer tokenizer, ChatTemplate template, torch.Device device, IReadOnlyList<HeldOutPrompt> prompts)
{
    /// <summary>Tokens a reply may have; references longer than this cannot be matched.</summary>
    public int MaxNewTokens { get; init; } = 32;

    /// <summary>Fraction of prompts answered exactly.</summary>
    public double ExactMatch() => Score().Overall;

    /// <summary>Exact match overall and per task.</summary>
    public (double Overall, IReadOnlyDictionary<string, double> PerTask) Score()
    {
        if (prompts.Count == 0) throw new InvalidInputException("exact match: no held-out prompts");
        var generator = new Generator(model, tokenizer, device);
        var options = new SamplingOptions { Temperature = 0, MaxNewTokens = MaxNewTokens, StopStrings = [template.EndOfTurn] };
        var correct = new bool[prompts.Count];
        for (int i = 0; i < prompts.Count; i++)
        {
            string prompt = template.Render(prompts[i].Context, addGenerationPrompt: true).Text;
            correct[i] = SyntheticSuite.IsCorrect(generator.Generate(prompt, options), prompts[i].Answer);
        }
        var perTask = prompts.Select((p, i) => (p.Task, Ok: correct[i])).GroupBy(x => x.Task)
            .ToDictionary(g => g.Key, g => g.Average(x => x.Ok ? 1.0 : 0.0));
        return (correct.Average(c => c ? 1.0 : 0.0), perTask);
    }
}
