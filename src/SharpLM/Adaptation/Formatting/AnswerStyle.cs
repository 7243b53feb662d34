namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// The house style of the synthetic suite's alignment experiments: a reply states its answer as
/// <c>Answer: X</c> rather than a bare <c>X</c>. It is a rule a program can check (<see cref="Follows"/>), it does
/// not change whether a reply is right (<see cref="Strip"/>, which exact match applies), and instruction tuning can
/// teach it to a minority of replies (<see cref="SyntheticSuiteOptions.StyledReplies"/>), so that the tuned model
/// follows it sometimes and preference tuning has something to raise — the way human preferences over style are
/// measured in RLHF, at laptop scale.
/// </summary>
public static class AnswerStyle
{
    /// <summary>What a reply in the house style starts with.</summary>
    public const string Prefix = "Answer: ";

    /// <summary><paramref name="answer"/> in the house style.</summary>
    public static string Apply(string answer) => Prefix + answer;

    /// <summary>Whether <paramref name="reply"/> follows the house style: the prefix, then a non-empty answer.</summary>
    public static bool Follows(string reply)
    {
        string trimmed = reply.Trim();
        return trimmed.StartsWith(Prefix, StringComparison.Ordinal) && trimmed.Length > Prefix.Length;
    }

    /// <summary>The answer a reply states: without surrounding whitespace, and without the prefix when it has one.</summary>
    public static string Strip(string reply)
    {
        string trimmed = reply.Trim();
        return trimmed.StartsWith(Prefix, StringComparison.Ordinal) ? trimmed[Prefix.Length..].Trim() : trimmed;
    }
}
