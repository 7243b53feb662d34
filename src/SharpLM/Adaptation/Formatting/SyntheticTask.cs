using SharpLM.Runtime;

namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// One task of the synthetic instruction-following suite: phrasings with <c>{slot}</c>s, a generator drawing slot
/// values, and the exact answer computed from them. Everything is short printable ASCII, so a character-level model with
/// a 64–128 token context can be tuned on it and scored by exact match.
/// </summary>
public sealed class SyntheticTask
{
    readonly Func<SplitMix64, Dictionary<string, string>> draw;
    readonly Func<IReadOnlyDictionary<string, string>, string> solve;

    public SyntheticTask(string name, IReadOnlyList<string> templates, Func<SplitMix64, Dictionary<string, string>> draw,
        Func<IReadOnlyDictionary<string, string>, string> solve)
    {
        if (templates.Count < 2) throw new ArgumentException($"task {name}: at least two templates are needed to hold one out");
        Name = name;
        Templates = templates;
        this.draw = draw;
        this.solve = solve;
    }

    public string Name { get; }

    /// <summary>Phrasings of the instruction; slots such as {word}, {a}, {b}, {n}, {sentence}.</summary>
    public IReadOnlyList<string> Templates { get; }

    /// <summary>The exact answer for these slot values.</summary>
    public string Solve(IReadOnlyDictionary<string, string> slots) => solve(slots);

    /// <summary>Template <paramref name="template"/> with the slots filled in.</summary>
    public string Render(int template, IReadOnlyDictionary<string, string> slots)
    {
        string prompt = Templates[template];
        foreach (var (slot, value) in slots) prompt = prompt.Replace("{" + slot + "}", value, StringComparison.Ordinal);
        if (prompt.Contains('{')) throw new InvalidOperationException($"task {Name}: template {template} has an unfilled slot: {prompt}");
        return prompt;
    }

    /// <summary>Draws one instance and renders it with template <paramref name="template"/>.</summary>
    public SyntheticExample Sample(SplitMix64 random, int template)
    {
        var slots = draw(random);
        return new SyntheticExample(Name, template, Render(template, slots), Solve(slots));
    }
}

/// <summary>A synthetic instance: which task and template made it, the prompt, and the exact answer.</summary>
public sealed record SyntheticExample(string Task, int Template, string Prompt, string Answer)
{
    /// <summary>The instance as a one-exchange conversation.</summary>
    public Conversation ToConversation() => new([Turn.User(Prompt), Turn.Assistant(Answer)]);

    public InstructionInstance ToInstance() => new(Task, Template, Prompt, Answer);
}
