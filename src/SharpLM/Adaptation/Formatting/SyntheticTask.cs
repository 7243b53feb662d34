using SharpLM.Runtime;

namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// One task of the synthetic instruction-following suite: phrasings with <c>{slot}</c>s, a generator drawing slot
/// values, and the exact answer computed from them. Everything is short printable ASCII, so a character-level model with
/// a 64–128 token context can be tuned on it and scored by exact match. A task may also state its facts as plain
/// sentences (<see cref="Statements"/>), the form such knowledge takes in pre-training text (<see cref="SkillCorpus"/>).
/// </summary>
public sealed class SyntheticTask
{
    readonly Func<SplitMix64, Dictionary<string, string>> draw;
    readonly Func<IReadOnlyDictionary<string, string>, string> solve;

    /// <param name="name">The task's name, e.g. "reverse"; identifies it in splits, scores and instance keys.</param>
    /// <param name="templates">Phrasings of the instruction with <c>{slot}</c>s; at least two, so one can be held out.</param>
    /// <param name="draw">Draws the slot values of one instance.</param>
    /// <param name="solve">Computes the exact answer from the slot values.</param>
    /// <param name="statements">Declarative sentences of the facts, with <c>{answer}</c>; null for none.</param>
    /// <exception cref="ArgumentException">Fewer than two templates.</exception>
    public SyntheticTask(string name, IReadOnlyList<string> templates, Func<SplitMix64, Dictionary<string, string>> draw,
        Func<IReadOnlyDictionary<string, string>, string> solve, IReadOnlyList<string>? statements = null)
    {
        if (templates.Count < 2) throw new ArgumentException($"task {name}: at least two templates are needed to hold one out");
        Name = name;
        Templates = templates;
        Statements = statements ?? [];
        this.draw = draw;
        this.solve = solve;
    }

    /// <summary>The task's name, e.g. "reverse" or "nth_word".</summary>
    public string Name { get; }

    /// <summary>Phrasings of the instruction; slots such as {word}, {a}, {b}, {n}, {sentence}.</summary>
    public IReadOnlyList<string> Templates { get; }

    /// <summary>
    /// Declarative sentences stating an instance's answer ("{word} spelled backwards is {answer}."): not instructions,
    /// but what a corpus says about the same facts. Empty when the task has none.
    /// </summary>
    public IReadOnlyList<string> Statements { get; }

    /// <summary>The exact answer for these slot values.</summary>
    public string Solve(IReadOnlyDictionary<string, string> slots) => solve(slots);

    /// <summary>Draws the slot values of one instance.</summary>
    public IReadOnlyDictionary<string, string> Draw(SplitMix64 random) => draw(random);

    /// <summary>Template <paramref name="template"/> with the slots filled in.</summary>
    public string Render(int template, IReadOnlyDictionary<string, string> slots) => Fill(Templates[template], slots, $"template {template}");

    /// <summary>Statement <paramref name="statement"/> with the slots and {answer} filled in.</summary>
    public string RenderStatement(int statement, IReadOnlyDictionary<string, string> slots) =>
        Fill(Statements[statement].Replace("{answer}", Solve(slots), StringComparison.Ordinal), slots, $"statement {statement}");

    /// <summary>An instance's identity whatever its phrasing: the task and its slot values.</summary>
    public string InstanceKey(IReadOnlyDictionary<string, string> slots) =>
        Name + ":" + string.Join("\u001f", slots.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}"));

    /// <summary>Draws one instance and renders it with template <paramref name="template"/>.</summary>
    public SyntheticExample Sample(SplitMix64 random, int template)
    {
        var slots = draw(random);
        return new SyntheticExample(Name, template, Render(template, slots), Solve(slots)) { Instance = InstanceKey(slots) };
    }

    string Fill(string text, IReadOnlyDictionary<string, string> slots, string what)
    {
        foreach (var (slot, value) in slots) text = text.Replace("{" + slot + "}", value, StringComparison.Ordinal);
        if (text.Contains('{')) throw new InvalidOperationException($"task {Name}: {what} has an unfilled slot: {text}");
        return text;
    }
}

/// <summary>A synthetic instance: which task and template made it, the prompt, and the exact answer.</summary>
public sealed record SyntheticExample(string Task, int Template, string Prompt, string Answer)
{
    /// <summary>The instance's identity across phrasings (<see cref="SyntheticTask.InstanceKey"/>); empty when unknown.</summary>
    public string Instance { get; init; } = "";

    /// <summary>The instance as a one-exchange conversation.</summary>
    public Conversation ToConversation() => new([Turn.User(Prompt), Turn.Assistant(Answer)]);

    /// <summary>The instance as an <see cref="InstructionInstance"/>, with the template index as its phrasing.</summary>
    public InstructionInstance ToInstance() => new(Task, Template, Prompt, Answer);
}
