using System.Text;
using SharpLM.Runtime;

namespace SharpLM.Experiments.Utilization;

/// <summary>
/// The synthetic worlds of <see cref="UtilizationExperiment"/>, one per claim of the survey. Every generator is a pure
/// function of its seed, and every test set is drawn from its own seed stream with the training items removed, so no
/// test item (function, problem, fact) is in any training text or demonstration pool.
/// </summary>
public static class UtilizationTasks
{
    // ---- 1. In-context learning: random letter mappings (Garg et al. style "new functions") ----

    /// <summary>The inputs of every mapping: eight lowercase letters.</summary>
    public const string Domain = "abcdefgh";
    /// <summary>The outputs: any capital letter (a mapping need not be one-to-one).</summary>
    public const string Range = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    /// <summary>A mapping of <see cref="Domain"/> onto <see cref="Range"/>: its outputs in domain order.</summary>
    public sealed record Mapping(string Outputs)
    {
        /// <summary>The output of <paramref name="input"/>.</summary>
        public char Apply(char input) => Outputs[Domain.IndexOf(input)];
    }

    /// <summary>One demonstration, as the model reads it: the input and its output, <c>cK</c> (lower case in, upper case
    /// out), so reading an output off an earlier pair is one step of attention: to the letter after the input's last
    /// appearance — what an induction head does (Olsson et al. 2022).</summary>
    public static string Demonstration(Mapping f, char input) => $"{input}{f.Apply(input)}";

    /// <summary>An episode's prompt as a training line starts: a newline, the demonstrations, then the query waiting for
    /// its output: <c>\ncK,aB,d</c>.</summary>
    public static string MappingPrompt(Mapping f, IEnumerable<char> demonstrations, char query) =>
        "\n" + string.Concat(demonstrations.Select(d => Demonstration(f, d) + ",")) + query;

    /// <summary>A mapping with every output drawn uniformly.</summary>
    public static Mapping RandomMapping(SplitMix64 random) =>
        new(new string(Enumerable.Range(0, Domain.Length).Select(_ => Range[(int)random.NextLong(Range.Length)]).ToArray()));

    /// <summary>The domain in a random order.</summary>
    public static char[] Shuffled(SplitMix64 random)
    {
        char[] letters = Domain.ToCharArray();
        for (int i = letters.Length - 1; i > 0; i--)
        {
            int j = (int)random.NextLong(i + 1);
            (letters[i], letters[j]) = (letters[j], letters[i]);
        }
        return letters;
    }

    /// <summary>
    /// Training text: <paramref name="episodes"/> lines, each a fresh random mapping shown as 12–20 input-output pairs
    /// with inputs drawn at random (repeats included): every output after its input's first appearance can be read off
    /// an earlier pair, which is what in-context learning is, and nothing else predicts it.
    /// </summary>
    public static (string Text, HashSet<string> Mappings) MappingCorpus(int episodes, ulong seed)
    {
        var random = new SplitMix64(seed);
        var text = new StringBuilder();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int e = 0; e < episodes; e++)
        {
            var f = RandomMapping(random);
            seen.Add(f.Outputs);
            int pairs = 12 + (int)random.NextLong(9);
            text.AppendJoin(",", Enumerable.Range(0, pairs).Select(_ => Demonstration(f, Domain[(int)random.NextLong(Domain.Length)]))).Append('\n');
        }
        return (text.ToString(), seen);
    }

    /// <summary>A test mapping with its query and a fixed order of all eight demonstrations (the first k are shown).</summary>
    public sealed record MappingItem(Mapping Function, char Query, char[] Order);

    /// <summary>New mappings (none in <paramref name="training"/>), each with a query and a demonstration order.</summary>
    public static List<MappingItem> MappingTests(int count, ulong seed, IReadOnlySet<string> training)
    {
        var random = new SplitMix64(seed);
        var items = new List<MappingItem>();
        while (items.Count < count)
        {
            var f = RandomMapping(random);
            var order = Shuffled(random);
            char query = Domain[(int)random.NextLong(Domain.Length)];
            if (!training.Contains(f.Outputs)) items.Add(new MappingItem(f, query, order));
        }
        return items;
    }

    // ---- 2. Chain-of-thought: chains of operations on a last digit ----

    /// <summary>One problem: a start digit and operations (+, −, ×, each by 1–9) applied left to right, keeping the last digit.</summary>
    public sealed record Chain(int Start, IReadOnlyList<(char Op, int Operand)> Steps)
    {
        /// <summary>As the user asks it.</summary>
        public string Question => $"Q: {Start}{string.Concat(Steps.Select(s => $" {s.Op}{s.Operand}"))}";

        /// <summary>Each intermediate value, the start first.</summary>
        public IReadOnlyList<int> Values()
        {
            var values = new List<int> { Start };
            foreach (var (op, operand) in Steps)
            {
                int v = values[^1];
                values.Add(((op switch { '+' => v + operand, '-' => v - operand, _ => v * operand }) % 10 + 10) % 10);
            }
            return values;
        }

        /// <summary>The last value.</summary>
        public int Answer => Values()[^1];

        /// <summary>
        /// The step-by-step rationale, a scratchpad (Nye et al. 2021): the start, then each intermediate value in
        /// the question's own layout, one three-character step <c> =7</c> under each three-character operation
        /// <c> +4</c> (<c>3 +4 *3</c> → <c>3 =7 =1</c>), then the answer. Each step reads three things at fixed
        /// distances — its operation and operand in the question, the value just before it — so one small lookup per
        /// step suffices; the question alone needs all five operations at once.
        /// </summary>
        public string Rationale =>
            $" {Start}{string.Concat(Values().Skip(1).Select(v => $" ={v}"))}. The answer is {Answer}.";
    }

    /// <summary>What follows "A:" when a model is asked to think step by step (Kojima et al.'s trigger).</summary>
    public const string CotTrigger = " Let's think step by step.";
    /// <summary>What follows "A:" when a model answers directly.</summary>
    public const string DirectTrigger = " The answer is";

    /// <summary>A chain of <paramref name="minSteps"/> to <paramref name="maxSteps"/> operations.</summary>
    public static Chain RandomChain(SplitMix64 random, int minSteps, int maxSteps)
    {
        int n = minSteps + (int)random.NextLong(maxSteps - minSteps + 1);
        return new Chain((int)random.NextLong(10), Enumerable.Range(0, n).Select(_ => ("+-*"[(int)random.NextLong(3)], 1 + (int)random.NextLong(9))).ToArray());
    }

    /// <summary>Operations per problem, in training and test alike: the steps then always sit at the same distance from
    /// their operations (the test problems are new, not longer).</summary>
    public const int ChainSteps = 5;

    /// <summary>
    /// Training text: chains of <see cref="ChainSteps"/> operations; a fraction <paramref name="rationaleFraction"/>
    /// carries the rationale after the CoT trigger, the rest the answer alone after the direct trigger; each item ends
    /// with a newline.
    /// </summary>
    public static (List<string> Items, HashSet<string> Questions) ChainCorpus(int problems, double rationaleFraction, ulong seed)
    {
        var random = new SplitMix64(seed);
        var items = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < problems; i++)
        {
            var chain = RandomChain(random, ChainSteps, ChainSteps);
            seen.Add(chain.Question);
            bool rationale = random.NextLong(1_000_000) < rationaleFraction * 1_000_000;
            items.Add(chain.Question + "\nA:" + (rationale ? CotTrigger + chain.Rationale : $"{DirectTrigger} {chain.Answer}.") + "\n");
        }
        return (items, seen);
    }

    /// <summary>Held-out problems of <paramref name="steps"/> operations that no training text contains.</summary>
    public static List<Chain> ChainTests(int count, int steps, ulong seed, IReadOnlySet<string> training)
    {
        var random = new SplitMix64(seed);
        var items = new List<Chain>();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        while (items.Count < count)
        {
            var chain = RandomChain(random, steps, steps);
            if (!training.Contains(chain.Question) && taken.Add(chain.Question)) items.Add(chain);
        }
        return items;
    }

    // ---- 3. Tools: arithmetic with a calculator ----

    /// <summary>One problem: two operands and an operator.</summary>
    public sealed record Arithmetic(long A, char Op, long B)
    {
        /// <summary>As the calculator reads it: <c>123+45</c>.</summary>
        public string Expression => $"{A}{Op}{B}";
        /// <summary>As the test asks it (<see cref="QuestionForms"/>[0]).</summary>
        public string Question => Ask(0);

        /// <summary>In the words of <see cref="QuestionForms"/>[<paramref name="form"/>].</summary>
        public string Ask(int form) => AskFor(Expression, form);

        /// <summary>The exact result.</summary>
        public string Answer => (Op switch { '+' => A + B, '-' => A - B, _ => A * B }).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A number of <paramref name="minDigits"/> to <paramref name="maxDigits"/> digits (at most 18), each length equally likely.</summary>
    public static long Digits(SplitMix64 random, int minDigits, int maxDigits)
    {
        int d = minDigits + (int)random.NextLong(maxDigits - minDigits + 1);
        long low = d == 1 ? 0 : (long)Math.Pow(10, d - 1);
        return low + random.NextLong((long)Math.Pow(10, d) - low);
    }

    /// <summary>
    /// Ways a user asks for a result. Training asks in all of them, so the expression sits at a different distance
    /// from the reply each time: the model must copy it (into its call, and the result into its answer) by what the
    /// characters are, not where they are — the copying that carries over to longer numbers.
    /// </summary>
    public static readonly string[] QuestionForms =
        ["What is {0}?", "Compute {0}.", "{0} = ?", "Calculate {0}, please.", "Quick one: what is {0}?", "I need the value of {0} for a report."];

    /// <summary>A question about <paramref name="expression"/> in the words of <see cref="QuestionForms"/>[<paramref name="form"/>].</summary>
    public static string AskFor(string expression, int form) => string.Format(System.Globalization.CultureInfo.InvariantCulture, QuestionForms[form], expression);

    /// <summary>Training problems: operands of 1–3 digits, +, − or ×.</summary>
    public static Arithmetic TrainingArithmetic(SplitMix64 random) =>
        new(Digits(random, 1, 3), "+-*"[(int)random.NextLong(3)], Digits(random, 1, 3));

    /// <summary>Test problems with more digits than training used: 4–5-digit sums and differences, 4-digit × 2-digit products.</summary>
    public static List<Arithmetic> LongArithmetic(int count, ulong seed)
    {
        var random = new SplitMix64(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            char op = "+-*"[(int)random.NextLong(3)];
            return op == '*' ? new Arithmetic(Digits(random, 4, 4), op, Digits(random, 2, 2)) : new Arithmetic(Digits(random, 4, 5), op, Digits(random, 4, 5));
        }).ToList();
    }

    // ---- 4. Retrieval: facts about invented towns ----

    static readonly string[] Onsets = ["b", "br", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "th", "v", "z"];
    static readonly string[] Vowels = ["a", "e", "i", "o", "u", "ai", "ou"];
    static readonly string[] Codas = ["", "", "n", "r", "l", "s", "th", "m"];

    static string Word(SplitMix64 random, int syllables)
    {
        var w = new StringBuilder();
        for (int s = 0; s < syllables; s++)
            w.Append(Onsets[random.NextLong(Onsets.Length)]).Append(Vowels[random.NextLong(Vowels.Length)]).Append(Codas[random.NextLong(Codas.Length)]);
        return char.ToUpperInvariant(w[0]) + w.ToString()[1..];
    }

    /// <summary>One fact about a town: the file that alone states it, its text, a question and the answer.</summary>
    public sealed record Fact(string FileName, string Text, string Question, string Answer);

    /// <summary>A town and its three facts.</summary>
    public sealed record Town(string Name, string Mayor, string River, int Founded)
    {
        /// <summary>
        /// The facts, each a card in its own file (<c>surkipe.river.txt</c>: <c>Surkipe river = Kigo.</c>), as a
        /// key-value knowledge base stores them: the question retrieves its card, and the answer follows the only
        /// "=" in it. Prose would state several facts in the words the question uses ("What is the river of X?" /
        /// "The river of X is the Y."), and a small model would have to match the town and the attribute at once to
        /// find where the answer starts.
        /// </summary>
        public IEnumerable<Fact> Facts()
        {
            string file = Name.ToLowerInvariant();
            yield return new($"{file}.mayor.txt", $"{Name} mayor = {Mayor}.", $"Who is the mayor of {Name}?", Mayor);
            yield return new($"{file}.river.txt", $"{Name} river = {River}.", $"What is the river of {Name}?", River);
            string year = Founded.ToString(System.Globalization.CultureInfo.InvariantCulture);
            yield return new($"{file}.founded.txt", $"{Name} founded = {year}.", $"When was {Name} founded?", year);
        }
    }

    /// <summary><paramref name="count"/> towns with distinct names, none in <paramref name="exclude"/>.</summary>
    public static List<Town> Towns(int count, ulong seed, IReadOnlySet<string>? exclude = null)
    {
        var random = new SplitMix64(seed);
        var names = new HashSet<string>(exclude ?? new HashSet<string>(), StringComparer.OrdinalIgnoreCase);
        var towns = new List<Town>();
        while (towns.Count < count)
        {
            string name = Word(random, 3);
            if (!names.Add(name)) continue;
            towns.Add(new Town(name, $"{Word(random, 2)} {Word(random, 2)}", Word(random, 2), 1000 + (int)random.NextLong(1000)));
        }
        return towns;
    }
}
