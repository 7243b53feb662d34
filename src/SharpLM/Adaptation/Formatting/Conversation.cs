namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// A conversation for instruction tuning: an optional system message, then user and assistant turns alternating,
/// starting with the user. Every chat format (ShareGPT, OpenAI messages, Alpaca) reads into this one type.
/// Equality compares the turns, so a round trip through a file can be checked with ==.
/// </summary>
public sealed class Conversation : IEquatable<Conversation>
{
    /// <exception cref="ArgumentException">The turns are empty or do not follow the shape above (see <see cref="Problem"/>).</exception>
    public Conversation(IReadOnlyList<Turn> turns)
    {
        if (Problem(turns) is { } problem) throw new ArgumentException(problem, nameof(turns));
        Turns = turns.ToArray();
    }

    /// <summary>The messages in order: the optional system message first, then user and assistant alternating.</summary>
    public IReadOnlyList<Turn> Turns { get; }

    /// <summary>The system message, or null.</summary>
    public string? System => Turns[0].Role == Roles.System ? Turns[0].Content : null;

    /// <summary>
    /// What is wrong with <paramref name="turns"/> as a conversation, naming the turn index, or null if nothing:
    /// no turns, an unknown role, a system message other than the first, or user/assistant not alternating.
    /// </summary>
    public static string? Problem(IReadOnlyList<Turn> turns)
    {
        if (turns.Count == 0) return "empty conversation (no turns)";
        string expected = Roles.User;
        for (int i = 0; i < turns.Count; i++)
        {
            string role = turns[i].Role;
            if (role is not (Roles.System or Roles.User or Roles.Assistant)) return $"turn {i}: unknown role '{role}'";
            if (role == Roles.System)
            {
                if (i != 0) return $"turn {i}: a system message may only come first";
                continue;
            }
            if (role != expected) return $"turn {i}: expected {expected}, got {role} (user and assistant must alternate, starting with user)";
            expected = expected == Roles.User ? Roles.Assistant : Roles.User;
        }
        if (turns.All(t => t.Role == Roles.System)) return "conversation has only a system message";
        return null;
    }

    /// <summary>Whether <paramref name="other"/> has the same turns, role and content, in the same order.</summary>
    public bool Equals(Conversation? other) => other is not null && Turns.SequenceEqual(other.Turns);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Conversation);

    /// <inheritdoc/>
    public override int GetHashCode() => Turns.Aggregate(0, (h, t) => HashCode.Combine(h, t));

    /// <summary>The turns as "role: content", separated by " | ", for debugging.</summary>
    public override string ToString() => string.Join(" | ", Turns.Select(t => $"{t.Role}: {t.Content}"));
}
