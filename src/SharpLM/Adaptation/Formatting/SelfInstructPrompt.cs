using System.Text;
using System.Text.RegularExpressions;

namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// The instruction-generation prompt of Self-Instruct (Wang et al. 2023, Table 5: "Come up with a series of tasks:"
/// followed by numbered sampled tasks, ending at the next number for the model to continue), here with each task's
/// instance under it as Alpaca's variant does, and the parser of the model's continuation.
/// </summary>
public static partial class SelfInstructPrompt
{
    /// <summary>The first line of every prompt, the paper's wording.</summary>
    public const string Header = "Come up with a series of tasks:";

    /// <summary>Shown as the input of a task that has none (Alpaca's marker).</summary>
    public const string NoInput = "<noinput>";

    /// <summary>The prompt: header, then "Task i: …" with Input/Output lines when <paramref name="withInstances"/>,
    /// then "Task k+1:".</summary>
    public static string Build(IReadOnlyList<SelfInstructTask> tasks, bool withInstances = true)
    {
        var text = new StringBuilder(Header).Append("\n\n");
        for (int i = 0; i < tasks.Count; i++)
        {
            text.Append($"Task {i + 1}: {tasks[i].Instruction}\n");
            if (withInstances)
                text.Append($"Input: {(tasks[i].Input.Length == 0 ? NoInput : tasks[i].Input)}\nOutput: {tasks[i].Output}\n\n");
        }
        return text.Append($"Task {tasks.Count + 1}:").ToString();
    }

    /// <summary>
    /// The tasks proposed in <paramref name="response"/>, the model's continuation of <see cref="Build"/>'s prompt
    /// (it may or may not repeat "Task k+1:"). Each "Task n:" block is an instruction, optionally followed by
    /// "Input:" and "Output:" lines; blocks with an empty instruction are kept (the filter rejects them, so they are
    /// counted). When the reply was cut off by the token limit (<paramref name="truncated"/>) its last block is
    /// incomplete and dropped, as Alpaca's generator does.
    /// </summary>
    public static IReadOnlyList<SelfInstructTask> Parse(string response, int firstNumber, bool truncated = false)
    {
        string trimmed = response.TrimStart();
        string text = TaskLabel().Match(trimmed) is { Success: true, Index: 0 } ? trimmed : $"Task {firstNumber}:{response}";
        var blocks = TaskLabel().Split(text).Skip(1).ToList(); // the text before the first label is empty
        if (truncated && blocks.Count > 0) blocks.RemoveAt(blocks.Count - 1);
        return blocks.Select(ParseBlock).ToList();
    }

    static SelfInstructTask ParseBlock(string block)
    {
        Match input = InputLine().Match(block), output = OutputLine().Match(block);
        int instructionEnd = new[] { input, output }.Where(m => m.Success).Select(m => m.Index).DefaultIfEmpty(block.Length).Min();
        string instruction = block[..instructionEnd].Trim();
        string inputText = input.Success ? block[(input.Index + input.Length)..(output.Success && output.Index > input.Index ? output.Index : block.Length)].Trim() : "";
        string outputText = output.Success ? block[(output.Index + output.Length)..].Trim() : "";
        if (inputText == NoInput) inputText = "";
        return new SelfInstructTask(instruction, inputText, outputText);
    }

    [GeneratedRegex(@"(?m)^[ \t]*Input:[ \t]*")]
    private static partial Regex InputLine();

    [GeneratedRegex(@"(?m)^[ \t]*Output:[ \t]*")]
    private static partial Regex OutputLine();

    [GeneratedRegex(@"(?m)^[ \t]*Task\s+\d+\s*:")]
    private static partial Regex TaskLabel();
}
