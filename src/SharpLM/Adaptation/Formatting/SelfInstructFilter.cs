using System.Text.RegularExpressions;
// The one dependency of Adaptation that points forward (to Evaluation): Self-Instruct's novelty test is ROUGE-L,
// and RougeScorer is the exact rouge_score implementation the paper's code used.
using SharpLM.Evaluation.Metrics;

namespace SharpLM.Adaptation.Formatting;

/// <summary>Why <see cref="SelfInstructFilter"/> rejected a proposed task.</summary>
public enum SelfInstructRejection
{
    Empty,
    TooShort,
    TooLong,
    Blacklisted,
    WriteAProgram,
    StartsWithPunctuation,
    StartsWithNonAscii,
    EmptyOutput,
    Duplicate,
    TooSimilar,
}

/// <summary>
/// Self-Instruct's filter (Wang et al. 2023, §2.3, and its released code): a new instruction is kept only when its
/// ROUGE-L F-measure against every instruction in the pool is below 0.7, and it passes the heuristics — at least
/// 4 and at most 150 words, none of the keywords a language model cannot act on (image, picture, graph, file, map,
/// draw, plot, go to, …; whole words), not starting with "Write a program", not starting with punctuation or a
/// non-ASCII character, not an exact duplicate. With instances required, an empty output is rejected too.
/// </summary>
public sealed partial class SelfInstructFilter
{
    /// <summary>Self-Instruct's keyword list (bootstrap_instructions.py).</summary>
    public static IReadOnlyList<string> DefaultBlacklist { get; } =
        ["image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps", "draw", "plot", "go to"];

    readonly RougeScorer rouge = new(["rougeL"]);
    readonly Regex blacklist;

    public SelfInstructFilter(IReadOnlyList<string>? blacklist = null)
    {
        Blacklist = blacklist ?? DefaultBlacklist;
        this.blacklist = new Regex($@"\b({string.Join("|", Blacklist.Select(Regex.Escape))})\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }

    public IReadOnlyList<string> Blacklist { get; }
    /// <summary>Kept only when ROUGE-L F against every pool instruction is below this.</summary>
    public double SimilarityThreshold { get; init; } = 0.7;
    /// <summary>Instructions of this many words or fewer are rejected (the paper's code: ≤ 3).</summary>
    public int MaxWordsTooShort { get; init; } = 3;
    public int MaxWords { get; init; } = 150;
    /// <summary>Reject tasks whose output is empty (when instances are generated with the instruction).</summary>
    public bool RequireOutput { get; init; }

    /// <summary>The first reason to reject <paramref name="task"/> given the current pool's instructions, or null to keep it.</summary>
    public SelfInstructRejection? Check(SelfInstructTask task, IReadOnlyCollection<string> pool) =>
        CheckWithScore(task, pool).Reason;

    /// <summary>As <see cref="Check"/>, with the highest ROUGE-L F-measure to the pool (0 when it was not computed).</summary>
    public (SelfInstructRejection? Reason, double MaxRougeL) CheckWithScore(SelfInstructTask task, IReadOnlyCollection<string> pool)
    {
        string instruction = task.Instruction.Trim();
        if (instruction.Length == 0) return (SelfInstructRejection.Empty, 0);
        int words = instruction.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (words <= MaxWordsTooShort) return (SelfInstructRejection.TooShort, 0);
        if (words > MaxWords) return (SelfInstructRejection.TooLong, 0);
        if (blacklist.IsMatch(instruction)) return (SelfInstructRejection.Blacklisted, 0);
        if (instruction.StartsWith("Write a program", StringComparison.Ordinal)) return (SelfInstructRejection.WriteAProgram, 0);
        if (PythonPunctuation.Contains(instruction[0])) return (SelfInstructRejection.StartsWithPunctuation, 0);
        if (!char.IsAscii(instruction[0])) return (SelfInstructRejection.StartsWithNonAscii, 0);
        if (RequireOutput && task.Output.Trim().Length == 0) return (SelfInstructRejection.EmptyOutput, 0);
        if (pool.Contains(instruction)) return (SelfInstructRejection.Duplicate, 1);
        double max = 0;
        foreach (string existing in pool)
        {
            max = Math.Max(max, rouge.Score(existing, instruction)["rougeL"].FMeasure);
            if (max >= SimilarityThreshold) return (SelfInstructRejection.TooSimilar, max);
        }
        return (null, max);
    }

    // Python's string.punctuation, which the paper's code tests the first character against (.NET's
    // char.IsPunctuation leaves out symbols such as '$', '+' and '<').
    const string PythonPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
}
