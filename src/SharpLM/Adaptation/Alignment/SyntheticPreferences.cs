using System.Globalization;
using SharpLM.Adaptation.Formatting;
using SharpLM.Runtime;

namespace SharpLM.Adaptation.Alignment;

/// <summary>How <see cref="SyntheticPreferences.Build"/> makes its pairs.</summary>
public sealed record SyntheticPreferenceOptions
{
    /// <summary>The instruction suite the prompts come from (its seed also seeds every choice here).
    /// <see cref="SyntheticSuiteOptions.StyledReplies"/> does not change the pairs: answers are taken bare.</summary>
    public SyntheticSuiteOptions Suite { get; init; } = new();
    /// <summary>What the preference is about, one of <see cref="SyntheticPreferences.Kinds"/>.</summary>
    public string Kind { get; init; } = "style";
}

/// <summary>
/// A preference set whose labels a program can check, built from the synthetic instruction suite
/// (<see cref="SyntheticSuite.Build"/>), so reward modelling and preference tuning can be measured on a laptop:
/// <list type="bullet">
/// <item>"style": both replies are right; the chosen one states the answer in the house style
/// (<see cref="AnswerStyle"/>), the rejected one bare — a preference about form, as most human labels are;</item>
/// <item>"correctness": the chosen reply is the right answer, the rejected one a plausible wrong answer (off by one,
/// two letters swapped, the neighbouring word, …) — a preference about content.</item>
/// </list>
/// Train pairs come from the suite's training split and test pairs from its seen-task test split, without any test
/// instance that also occurs in training, whatever its phrasing.
/// </summary>
public static class SyntheticPreferences
{
    /// <summary>The kinds of preference <see cref="Build"/> makes.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["style", "correctness"];

    /// <summary>The train and test pairs of <paramref name="options"/>; deterministic in the suite's seed.</summary>
    /// <exception cref="ArgumentException">An unknown kind, or options the suite rejects.</exception>
    public static (IReadOnlyList<PreferencePair> Train, IReadOnlyList<PreferencePair> Test) Build(SyntheticPreferenceOptions options)
    {
        if (!Kinds.Contains(options.Kind)) throw new ArgumentException($"unknown preference kind '{options.Kind}' (expected {string.Join(" or ", Kinds)})");
        var splits = SyntheticSuite.Build(options.Suite);
        // A generator of its own, so the wrong answers drawn do not disturb (or depend on) the suite's draws.
        var random = new SplitMix64(options.Suite.Seed ^ 0x9AEFE2E4CE5UL);
        var trainInstances = splits.Train.Select(e => e.Instance).ToHashSet(StringComparer.Ordinal);
        var train = splits.Train.Select(e => Pair(e, options.Kind, random)).ToList();
        var test = splits.TestSeen
            .Where(e => !trainInstances.Contains(e.Instance))
            .Select(e => Pair(e, options.Kind, random)).ToList();
        return (train, test);
    }

    static PreferencePair Pair(SyntheticExample example, string kind, SplitMix64 random)
    {
        // Training answers may be styled (SyntheticSuiteOptions.StyledReplies); the pairs decide the style themselves.
        string answer = AnswerStyle.Strip(example.Answer);
        var (chosen, rejected) = kind == "style"
            ? (AnswerStyle.Apply(answer), answer)
            : (answer, WrongAnswer(example, answer, random));
        return new PreferencePair([Turn.User(example.Prompt)], chosen, rejected) { Task = example.Task, Instance = example.Instance };
    }

    /// <summary>A plausible wrong answer for the example's task; never one <see cref="SyntheticSuite.IsCorrect"/> accepts.</summary>
    static string WrongAnswer(SyntheticExample example, string answer, SplitMix64 random)
    {
        var slots = Slots(example.Instance);
        string? wrong = example.Task switch
        {
            "reverse" => random.NextLong(2) == 0 ? Reversed(answer) : SwapAdjacent(answer, random),
            "add" or "subtract" => OffBy(answer, random.NextLong(2) == 0 ? 1 : 10, random),
            "count_chars" => OffBy(answer, 1, random),
            "first_letter" when slots.TryGetValue("word", out string? word) => OtherLetter(word, answer, random),
            "uppercase" => FlipCase(answer, random, toUpper: false),
            "lowercase" => FlipCase(answer, random, toUpper: true),
            "sort_letters" => SwapAdjacent(answer, random),
            "nth_word" when slots.TryGetValue("sentence", out string? sentence) && slots.TryGetValue("n", out string? n) =>
                NeighbouringWord(sentence.Split(' '), int.Parse(n, CultureInfo.InvariantCulture) - 1, answer, random),
            _ => null,
        };
        // A rule can meet an instance it cannot corrupt (a palindrome, a word of one repeated letter): fall back to
        // changing the length, which is always wrong.
        if (wrong is null || SyntheticSuite.IsCorrect(wrong, answer)) wrong = answer.Length > 1 ? answer[..^1] : answer + answer + "x";
        if (SyntheticSuite.IsCorrect(wrong, answer)) throw new InvalidOperationException($"no wrong answer for {example.Instance}");
        return wrong;
    }

    // The slot values back from an instance key, "task:slot=value\u001fslot=value" (SyntheticTask.InstanceKey).
    static Dictionary<string, string> Slots(string instance)
    {
        var slots = new Dictionary<string, string>(StringComparer.Ordinal);
        int colon = instance.IndexOf(':');
        if (colon < 0) return slots;
        foreach (string part in instance[(colon + 1)..].Split('\u001f'))
            if (part.IndexOf('=') is int eq and > 0) slots[part[..eq]] = part[(eq + 1)..];
        return slots;
    }

    static string Reversed(string text) => new(text.Reverse().ToArray());

    // Two adjacent, different characters swapped; null when every neighbour is the same character.
    static string? SwapAdjacent(string text, SplitMix64 random)
    {
        var positions = Enumerable.Range(0, Math.Max(0, text.Length - 1)).Where(i => text[i] != text[i + 1]).ToArray();
        if (positions.Length == 0) return null;
        int at = positions[random.NextLong(positions.Length)];
        var chars = text.ToCharArray();
        (chars[at], chars[at + 1]) = (chars[at + 1], chars[at]);
        return new string(chars);
    }

    // The number plus or minus delta, kept non-negative (answers of these tasks never are).
    static string? OffBy(string answer, int delta, SplitMix64 random)
    {
        if (!int.TryParse(answer, NumberStyles.None, CultureInfo.InvariantCulture, out int value)) return null;
        int wrong = random.NextLong(2) == 0 ? value + delta : value - delta;
        if (wrong < 0) wrong = value + delta;
        return wrong.ToString(CultureInfo.InvariantCulture);
    }

    static string? OtherLetter(string word, string answer, SplitMix64 random)
    {
        var others = word.Select(c => c.ToString()).Where(c => c != answer).Distinct().ToArray();
        return others.Length == 0 ? null : others[random.NextLong(others.Length)];
    }

    // One letter left in the case the task asks to change.
    static string? FlipCase(string answer, SplitMix64 random, bool toUpper)
    {
        var letters = Enumerable.Range(0, answer.Length).Where(i => char.IsLetter(answer[i])).ToArray();
        if (letters.Length == 0) return null;
        int at = letters[random.NextLong(letters.Length)];
        var chars = answer.ToCharArray();
        chars[at] = toUpper ? char.ToUpperInvariant(chars[at]) : char.ToLowerInvariant(chars[at]);
        return new string(chars);
    }

    // The word before or after the asked-for one, or else any other word that differs.
    static string? NeighbouringWord(string[] words, int index, string answer, SplitMix64 random)
    {
        var neighbours = new[] { index - 1, index + 1 }.Where(i => i >= 0 && i < words.Length && words[i] != answer).ToArray();
        if (neighbours.Length > 0) return words[neighbours[random.NextLong(neighbours.Length)]];
        var others = words.Where(w => w != answer).ToArray();
        return others.Length == 0 ? null : others[random.NextLong(others.Length)];
    }
}
