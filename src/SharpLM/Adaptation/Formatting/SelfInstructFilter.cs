using System.Text.RegularExpressions;
// The one dependency of Adaptation that points forward (to Evaluation): Self-Instruct's novelty test is ROUGE-L,
// and RougeScorer is the exact rouge_score implementation the paper's code used.
using SharpLM.Evaluation.Metrics;

namespace SharpLM.Adaptation.Formatting;

/// <summary>Why <see cref="SelfInstructFilter"/> rejected a proposed task.</summary>
public enum SelfInstructRejection
{
    /// <summary>The instruction is empty after trimming.</summary>
    Empty,
    /// <summary>The instruction has <see cref="SelfInstructFilter.MaxWordsTooShort"/> words or fewer.</summary>
    TooShort,
    /// <summary>The instruction has more than <see cref="SelfInstructFilter.MaxWords"/> words.</summary>
    TooLong,
    /// <summary>The instruction contains a keyword of <see cref="SelfInstructFilter.Blacklist"/> as a whole word.</summary>
    Blacklisted,
    /// <summary>The instruction starts with "Write a program".</summary>
    WriteAProgram,
    /// <summary>The instruction starts with a punctuation character (Python's <c>string.punctuation</c>).</summary>
    StartsWithPunctuation,
    /// <summary>The instruction starts with a non-ASCII character.</summary>
    StartsWithNonAscii,
    /// <summary>Outputs are required and the task's output is empty.</summary>
    EmptyOutput,
    /// <summary>The instruction is already in the pool, exactly.</summary>
    Duplicate,
    /// <summary>ROUGE-L F-measure against some pool instruction reached <see cref="SelfInstructFilter.SimilarityThreshold"/>.</summary>
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

    /// <param name="blacklist">Keywords that reject an instruction (matched as whole words, ignoring case); null uses
    /// <see cref="DefaultBlacklist"/>.</param>
    public SelfInstructFilter(IReadOnlyList<string>? blacklist = null)
    {
        Blacklist = blacklist ?? DefaultBlacklist;
        this.blacklist = new Regex($@"\b({string.Join("|", Blacklist.Select(Regex.Escape))})\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }

    /// <summary>The keywords that reject an instruction, matched as whole words ignoring case.</summary>
    public IReadOnlyList<string> Blacklist { get; }
    /// <summary>Kept only when ROUGE-L F against every pool instruction is below this.</summary>
    public double SimilarityThreshold { get; init; } = 0.7;
    /// <summary>Instructions of this many words or fewer are rejected (the paper's code: ≤ 3).</summary>
    public int MaxWordsTooShort { get; init; } = 3;
    /// <summary>Instructions of more than this many words are rejected (the paper's code: 150).</summary>
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
