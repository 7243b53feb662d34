namespace SharpLM.Adaptation.Formatting;

/// <summary>A character range [Start, Start + Length) of a rendered text.</summary>
public readonly record struct TextSpan(int Start, int Length)
{
    /// <summary>The first index after the range: <c>Start + Length</c>.</summary>
    public int End => Start + Length;
}

/// <summary>
/// A conversation rendered to text, and the spans a supervised fine-tuning loss is computed on: each assistant
/// reply's content and its closing &lt;|im_end|&gt; (not the role header, not the newline after it, never the
/// user's or system's text).
/// </summary>
public sealed record RenderedChat(string Text, IReadOnlyList<TextSpan> AssistantSpans)
{
    /// <summary>Whether character <paramref name="index"/> of <see cref="Text"/> is trained on.</summary>
    public bool IsTrained(int index) => AssistantSpans.Any(s => index >= s.Start && index < s.End);

    /// <summary>The text of each assistant span.</summary>
    public IEnumerable<string> AssistantTexts => AssistantSpans.Select(s => Text.Substring(s.Start, s.Length));
}

/// <summary>
/// A conversation as token ids with a loss mask: <c>Trained[i]</c> is true for the ids of assistant content and its
/// &lt;|im_end|&gt;. For next-token training, position i's target is <c>Ids[i + 1]</c> and counts when
/// <c>Trained[i + 1]</c>.
/// </summary>
public sealed record TokenizedChat(int[] Ids, bool[] Trained)
{
    /// <summary>Number of ids trained on.</summary>
    public int TrainedCount => Trained.Count(t => t);
}
