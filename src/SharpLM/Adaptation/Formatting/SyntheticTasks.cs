using System.Globalization;
using SharpLM.Runtime;

namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// The built-in synthetic tasks: word manipulations (reverse, sort letters, upper/lower case, length, first letter),
/// two-digit arithmetic (add, subtract) and copying the n-th word of a short sentence. Each has at least four
/// phrasings, and three statements of its facts for pre-training text. Answers are computed, never looked up, so they
/// are right by construction.
/// </summary>
public static class SyntheticTasks
{
    /// <summary>Short common lowercase words (3–7 letters, a–z only).</summary>
    public static IReadOnlyList<string> Words { get; } =
    [
        "apple", "river", "stone", "cloud", "tiger", "green", "house", "light", "music", "paper",
        "plant", "chair", "bread", "smile", "water", "grape", "horse", "lemon", "night", "ocean",
        "queen", "robot", "sugar", "table", "dream", "eagle", "flame", "ghost", "heart", "juice",
        "cat", "dog", "sun", "map", "key", "box", "pen", "cup", "hat", "bee",
        "garden", "planet", "window", "basket", "candle", "forest", "rabbit", "silver", "winter", "yellow",
        "bird", "moon", "rain", "tree", "fish", "star", "wind", "fire", "snow", "king",
        "monkey", "orange", "pencil", "rocket", "spider", "turtle", "violin", "wizard", "zebra", "cookie",
    ];

    static readonly string[] ordinals = ["first", "second", "third", "fourth"];

    static string Word(SplitMix64 r) => Words[(int)r.NextLong(Words.Count)];
    static string Int(int n) => n.ToString(CultureInfo.InvariantCulture);
    static int Number(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    static Dictionary<string, string> OneWord(SplitMix64 r) => new() { ["word"] = Word(r) };

    static Func<IReadOnlyDictionary<string, string>, string> OnWord(Func<string, string> answer) => slots => answer(slots["word"]);

    /// <summary>Spell a word backwards.</summary>
    public static SyntheticTask Reverse { get; } = new("reverse",
    [
        "Reverse the word {word}.", "Write {word} backwards.", "What is {word} spelled backwards?",
        "Reverse: {word}", "Spell {word} in reverse order.",
    ], OneWord, OnWord(w => new string(w.Reverse().ToArray())),
    ["{word} spelled backwards is {answer}.", "Read backwards, {word} becomes {answer}.", "The reverse of {word} is {answer}."]);

    /// <summary>Write a word's letters in alphabetical order.</summary>
    public static SyntheticTask SortLetters { get; } = new("sort_letters",
    [
        "Sort the letters of {word}.", "Put the letters of {word} in alphabetical order.",
        "Alphabetize the letters in {word}.", "Sort: {word}", "Arrange {word} from a to z.",
    ], OneWord, OnWord(w => new string(w.Order().ToArray())),
    ["The letters of {word} in alphabetical order are {answer}.", "{word} with its letters sorted is {answer}.", "Alphabetized, {word} gives {answer}."]);

    /// <summary>Write a lowercase word in capitals.</summary>
    public static SyntheticTask Uppercase { get; } = new("uppercase",
    [
        "Uppercase the word {word}.", "Write {word} in capital letters.", "Convert {word} to upper case.",
        "Upper: {word}", "Make {word} all caps.",
    ], OneWord, OnWord(w => w.ToUpperInvariant()),
    ["{word} in capital letters is {answer}.", "The upper case form of {word} is {answer}.", "In all caps, {word} is written {answer}."]);

    /// <summary>The word is shown in capitals and asked for in lower case.</summary>
    public static SyntheticTask Lowercase { get; } = new("lowercase",
    [
        "Lowercase the word {word}.", "Write {word} in small letters.", "Convert {word} to lower case.",
        "Lower: {word}", "Make {word} all lowercase.",
    ], r => new() { ["word"] = Word(r).ToUpperInvariant() }, OnWord(w => w.ToLowerInvariant()),
    ["{word} in small letters is {answer}.", "The lower case form of {word} is {answer}.", "{word} written in lowercase is {answer}."]);

    /// <summary>Count the letters of a word; the answer is a decimal number.</summary>
    public static SyntheticTask CountCharacters { get; } = new("count_chars",
    [
        "How many letters are in {word}?", "Count the characters of {word}.", "What is the length of {word}?",
        "Length: {word}", "Count the letters in the word {word}.",
    ], OneWord, OnWord(w => Int(w.Length)),
    ["{word} has {answer} letters.", "The word {word} is {answer} characters long.", "There are {answer} letters in {word}."]);

    /// <summary>Give a word's first letter.</summary>
    public static SyntheticTask FirstLetter { get; } = new("first_letter",
    [
        "What is the first letter of {word}?", "Give the initial of {word}.", "First letter: {word}",
        "Which letter does {word} start with?",
    ], OneWord, OnWord(w => w[..1]),
    ["{word} starts with {answer}.", "The first letter of {word} is {answer}.", "The initial of {word} is {answer}."]);

    /// <summary>Add two numbers from 0 to 99.</summary>
    public static SyntheticTask Add { get; } = new("add",
    [
        "What is {a} plus {b}?", "Add {a} and {b}.", "{a} + {b} =", "Compute the sum of {a} and {b}.",
        "Sum: {a}, {b}",
    ], r => new() { ["a"] = Int((int)r.NextLong(100)), ["b"] = Int((int)r.NextLong(100)) },
       s => Int(Number(s["a"]) + Number(s["b"])),
    ["{a} plus {b} is {answer}.", "{a} + {b} = {answer}.", "The sum of {a} and {b} is {answer}."]);

    /// <summary>Two numbers below 100, the larger first, so the answer is never negative.</summary>
    public static SyntheticTask Subtract { get; } = new("subtract",
    [
        "What is {a} minus {b}?", "Subtract {b} from {a}.", "{a} - {b} =", "Compute the difference of {a} and {b}.",
        "Take {b} away from {a}.",
    ], r =>
    {
        int x = (int)r.NextLong(100), y = (int)r.NextLong(100);
        return new() { ["a"] = Int(Math.Max(x, y)), ["b"] = Int(Math.Min(x, y)) };
    }, s => Int(Number(s["a"]) - Number(s["b"])),
    ["{a} minus {b} is {answer}.", "{a} - {b} = {answer}.", "Taking {b} away from {a} leaves {answer}."]);

    /// <summary>Words of at most five letters, for sentences that stay short.</summary>
    public static IReadOnlyList<string> ShortWords { get; } = Words.Where(w => w.Length <= 5).ToArray();

    /// <summary>A sentence of 3–4 short words and a position in it, as a number ({n}) or an ordinal ({nth}).</summary>
    public static SyntheticTask NthWord { get; } = new("nth_word",
    [
        "What is word {n} of: {sentence}", "Copy the {nth} word of \"{sentence}\".", "Word {n} in \"{sentence}\"?",
        "Return the {nth} word: {sentence}", "Which word is number {n} in: {sentence}",
    ], r =>
    {
        int count = 3 + (int)r.NextLong(2);
        var words = Enumerable.Range(0, count).Select(_ => ShortWords[(int)r.NextLong(ShortWords.Count)]).ToArray();
        int n = 1 + (int)r.NextLong(count);
        return new() { ["sentence"] = string.Join(' ', words), ["n"] = Int(n), ["nth"] = ordinals[n - 1] };
    }, s => s["sentence"].Split(' ')[Number(s["n"]) - 1],
    ["In \"{sentence}\", word {n} is {answer}.", "The {nth} word of \"{sentence}\" is {answer}.", "Word number {n} of \"{sentence}\" is {answer}."]);

    /// <summary>Every built-in task, in a fixed order.</summary>
    public static IReadOnlyList<SyntheticTask> All { get; } =
        [Reverse, SortLetters, Uppercase, Lowercase, CountCharacters, FirstLetter, Add, Subtract, NthWord];
}
