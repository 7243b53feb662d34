using SharpLM.Adaptation.Formatting;

namespace SharpLM.Adaptation.Alignment;

/// <summary>
/// One human (or rule) preference: a prompt (the conversation so far, ending with a user turn) and two candidate
/// assistant replies, the preferred <paramref name="Chosen"/> and the dispreferred <paramref name="Rejected"/> —
/// the unit of reward-model training and of the DPO family (TRL's explicit-prompt form).
/// </summary>
/// <param name="Prompt">The turns before the reply; the last is a user turn.</param>
/// <param name="Chosen">The preferred assistant reply.</param>
/// <param name="Rejected">The dispreferred assistant reply; never equal to <paramref name="Chosen"/>.</param>
public sealed record PreferencePair(IReadOnlyList<Turn> Prompt, string Chosen, string Rejected)
{
    /// <summary>The synthetic task the pair came from ("" for files).</summary>
    public string Task { get; init; } = "";
    /// <summary>The instance's identity whatever its phrasing (synthetic pairs), so splits never share one; "" when unknown.</summary>
    public string Instance { get; init; } = "";
    /// <summary>Where the pair came from, "FILE:LINE", for messages; "" when generated.</summary>
    public string Origin { get; init; } = "";
}
