using SharpLM.Adaptation;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Data;
using SharpLM.Evaluation.Models;
using SharpLM.Inference;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Tokenization;
using TorchSharp;
using SharpLM.Training;
using SharpLM.Utilization.Retrieval;
using SharpLM.Utilization.Tools;
using static TorchSharp.torch;
using Generator = SharpLM.Inference.Generator;
using static SharpLM.Experiments.Utilization.UtilizationTasks;
using SharpLM.Checkpoints;

namespace SharpLM.Experiments.Utilization;

/// <summary>
/// The survey's claims about utilization, re-measured with small character-level models trained here, one per claim:
/// (1) in-context learning of new functions from demonstrations, and demonstration selection; (2) chain-of-thought
/// against direct answers, and self-consistency; (3) a calculator tool on longer arithmetic than training used;
/// (4) retrieval augmentation against closed-book answers. Every test item is new: functions, problems and towns are
/// drawn from seed streams the training text never used (and checked against it).
/// </summary>
public sealed partial class UtilizationExperiment
{
    /// <summary>The output directory: one folder per part (training text, prepared data, run), the report and PNGs.</summary>
    public required string OutDir { get; init; }
    /// <summary>Seeds the worlds, the training runs and the sampling.</summary>
    public int Seed { get; init; } = 1337;
    /// <summary>Multiplies every part's training steps (1 = the figures in the README; tests run a sliver).</summary>
    public double StepScale { get; init; } = 1;
    /// <summary>Test items per condition.</summary>
    public int TestItems { get; init; } = 200;
    /// <summary>Problems sampled 16 times for self-consistency (its cost grows with n).</summary>
    public int SelfConsistencyItems { get; init; } = 100;
    /// <summary>The parts to run, of <see cref="Parts"/>.</summary>
    public IReadOnlyList<string> Only { get; init; } = Parts;
    /// <summary>Progress lines; null for silence.</summary>
    public Action<string>? Log { get; init; }
    /// <summary>A training observer per part (progress with rate and ETA); null for none.</summary>
    public Func<string, ITrainingObserver>? ObserverFor { get; init; }

    /// <summary>The parts, in the order they run.</summary>
    public static readonly IReadOnlyList<string> Parts = ["icl", "cot", "tools", "rag"];
    /// <summary>The k of the in-context-learning curve.</summary>
    public static readonly int[] Shots = [0, 1, 2, 4, 8];
    /// <summary>The n of the self-consistency curve.</summary>
    public static readonly int[] Votes = [1, 2, 4, 8, 16];
    /// <summary>Demonstrations chosen from a function's pool in the selection comparison.</summary>
    public const int SelectionShots = 2;
    /// <summary>Sampling temperature of self-consistency (Wang et al. sample at 0.5 for UL2 and LaMDA).</summary>
    public const double SelfConsistencyTemperature = 0.5;
    /// <summary>File names of the plots.</summary>
    public const string IclPlot = "icl.png", SelfConsistencyPlot = "self_consistency.png", ClaimsPlot = "claims.png";

    readonly Device device = CPU;

    /// <summary>Runs the parts in <see cref="Only"/> and writes report.json, report.md and the plots.</summary>
    /// <exception cref="InvalidInputException">An unknown part, or settings out of range.</exception>
    public UtilizationReport Run()
    {
        foreach (string part in Only)
            if (!Parts.Contains(part)) throw new InvalidInputException($"--only: unknown part '{part}' (one of: {string.Join(", ", Parts)})");
        if (!(StepScale > 0)) throw new InvalidInputException($"--step-scale {StepScale}: must be positive");
        if (TestItems < 1 || SelfConsistencyItems < 0) throw new InvalidInputException("--test-items must be at least 1 and --sc-items not negative");
        var wall = Stopwatch.StartNew();
        var report = new UtilizationReport { Seed = Seed, StepScale = StepScale, TestItems = TestItems };
        if (Only.Contains("icl")) report = report with { Icl = InContextLearning() };
        if (Only.Contains("cot")) report = report with { Cot = ChainOfThought() };
        if (Only.Contains("tools")) report = report with { Tools = ToolUse() };
        if (Only.Contains("rag")) report = report with { Rag = RetrievalAugmented() };
        report = report with { WallSeconds = Math.Round(wall.Elapsed.TotalSeconds, 1) };
        UtilizationReportWriter.Write(OutDir, report);
        return report;
    }

    // ---------------------------------------------------------------- training

    /// <summary>A trained part: the model, its tokenizer, its objective — "next token" (random windows of the text) or
    /// "packed examples" (next token over whole examples packed into rows) — steps, seconds and final loss (validation for the
    /// first, training for the second).</summary>
    sealed record Trained(LanguageModel Model, ITokenizer Tokenizer, string Objective, int Iters, double TrainSeconds, double FinalLoss);

    /// <summary>Trains a character-level model on <paramref name="text"/> in OUT/PART/run (kept when complete, so a rerun evaluates again without training).</summary>
    Trained Train(string part, string text, ModelConfig model, int steps, int batch, double learningRate)
    {
        string dir = Path.Combine(OutDir, part), runDir = Path.Combine(dir, "run"), summaryPath = Path.Combine(runDir, Trainer.SummaryFile);
        steps = Math.Max(10, (int)Math.Round(steps * StepScale));
        var config = new PretrainConfig
        {
            Description = $"experiment utilization: {part}", Tokenizer = "char", Model = model,
            Training = new TrainingConfig
            {
                BatchSize = batch, MaxIters = steps, LearningRate = learningRate, MinLr = learningRate / 10, WarmupIters = Math.Min(100, steps / 10),
                LrDecayIters = steps, EvalInterval = Math.Max(1, steps / 4), EvalIters = 10, Seed = Seed, WeightDecay = 0.1,
            },
        };
        TrainingSummary summary;
        string input = Path.Combine(dir, "train.txt"), data = Path.Combine(dir, "data");
        // A finished run of the same configuration on the same text is reused: rerunning the experiment only evaluates again.
        if (File.Exists(summaryPath) && File.Exists(input) && File.ReadAllText(input) == text && SameRun(Path.Combine(runDir, PretrainConfig.FileName), config))
        {
            Log?.Invoke($"{part}: reusing the trained model in {runDir}");
            summary = Json.ReadFile<TrainingSummary>(summaryPath);
        }
        else
        {
            Directory.CreateDirectory(dir);
            IO.AtomicFile.WriteAllText(input, text);
            foreach (string stale in new[] { data, runDir }) if (Directory.Exists(stale)) Directory.Delete(stale, recursive: true);
            DataPreparer.Prepare(input, "char", data, trainFraction: 0.98);
            Log?.Invoke($"{part}: training {steps} steps of {batch} × {model.BlockSize} characters on {text.Length:N0} characters");
            summary = Pretraining.Run(config, data, runDir, ObserverFor?.Invoke(part));
        }
        var loaded = ModelBundle.Load(runDir, device);
        loaded.Model.eval();
        return new Trained(loaded.Model, loaded.Tokenizer, "next token", summary.Iters, summary.TrainSeconds, summary.FinalValLoss);
    }

    /// <summary>What every character tokenizer here can encode besides its training text: a tool's or the user's text may hold any of it.</summary>
    static readonly string PrintableAscii = new(Enumerable.Range(32, 95).Select(c => (char)c).Append('\n').ToArray());

    sealed record PackedRunInfo(PretrainConfig Config, int Examples, double TrainSeconds, double FinalLoss, int Iters);

    /// <summary>
    /// Trains a character-level model from scratch on <paramref name="conversations"/> with the SFT machinery: each
    /// conversation rendered with ChatML (<see cref="TrainPacked"/>). Saved in OUT/PART/run as a normal SFT run
    /// (weights, tokenizer with the ChatML tokens, chat template).
    /// </summary>
    Trained TrainChat(string part, IReadOnlyList<IReadOnlyList<Turn>> conversations, int steps, int batch, double learningRate)
    {
        var template = ChatTemplate.Default;
        var texts = conversations.Select(c => template.Render(c).Text).ToList();
        var tokenizer = CharTokenizer.FromText(string.Concat(texts) + PrintableAscii).WithSpecialTokens(template.RequiredSpecialTokens);
        var examples = conversations.Select(c => template.Tokenize(tokenizer, c).Ids).ToList();
        return TrainPacked(part, string.Concat(texts), tokenizer, examples, Small, steps, batch, learningRate, template);
    }

    /// <summary>
    /// Trains a character-level model from scratch on whole examples (<paramref name="examples"/>, token ids), packed
    /// into rows with positions restarting at every example, every token a target — so each example is seen whole and
    /// from its first token, as it is when asked, unlike random windows of a text. <paramref name="model"/> gives the
    /// model for a context length (the longest example, rounded up). Saved in OUT/PART/run with the tokenizer (and the
    /// chat template, when given); a finished run of the same configuration on the same text is reused.
    /// </summary>
    Trained TrainPacked(string part, string text, ITokenizer tokenizer, IReadOnlyList<int[]> examples, Func<int, ModelConfig> model,
        int steps, int batch, double learningRate, ChatTemplate? template = null)
    {
        string dir = Path.Combine(OutDir, part), runDir = Path.Combine(dir, "run"), input = Path.Combine(dir, "train.txt"), infoPath = Path.Combine(runDir, "run.json");
        steps = Math.Max(10, (int)Math.Round(steps * StepScale));
        int longest = examples.Max(e => e.Length);
        var config = new PretrainConfig
        {
            Description = $"experiment utilization: {part} (packed examples, from scratch)", Tokenizer = "char",
            Model = model((longest + 31) / 32 * 32) with { VocabSize = tokenizer.VocabSize },
            Training = new TrainingConfig { BatchSize = batch, MaxIters = steps, LearningRate = learningRate, MinLr = learningRate / 10, Seed = Seed, WeightDecay = 0.1 },
        };
        if (File.Exists(infoPath) && File.Exists(input) && File.ReadAllText(input) == text && Json.ReadFile<PackedRunInfo>(infoPath) is var saved && saved.Config == config)
        {
            Log?.Invoke($"{part}: reusing the trained model in {runDir}");
            var reused = ModelBundle.Load(runDir, device);
            reused.Model.eval();
            return new Trained(reused.Model, reused.Tokenizer, "packed examples", saved.Iters, saved.TrainSeconds, saved.FinalLoss);
        }
        Directory.CreateDirectory(dir);
        IO.AtomicFile.WriteAllText(input, text);
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        torch.manual_seed(Seed);
        var gpt = new Gpt(config.Model);
        Log?.Invoke($"{part}: training {steps} steps of {batch} rows × {config.Model.BlockSize} tokens on {examples.Count:N0} examples (packed)");
        var clock = Stopwatch.StartNew();
        var summary = new SftTrainer(gpt, new SftOptions
        {
            MaxIters = steps, BatchSize = batch, LearningRate = learningRate, MinLr = learningRate / 10, WarmupIters = Math.Min(100, steps / 10),
            WeightDecay = 0.1, EvalInterval = steps, Seed = Seed,
        }, examples.Select(ids => new SftExample(ids, ids.Select(_ => true).ToArray())).ToList())
        {
            OnStep = s =>
            {
                if ((s.Step + 1) % Math.Max(1, steps / 10) != 0) return;
                double eta = clock.Elapsed.TotalSeconds / (s.Step + 1) * (steps - s.Step - 1);
                Log?.Invoke($"{part}: step {s.Step + 1}/{steps}  loss {s.Loss:F4}  {s.MsPerIter:F0} ms/iter  ETA {TimeSpan.FromSeconds(eta):mm\\:ss}");
            },
        }.Run();
        Directory.CreateDirectory(runDir);
        Checkpoint.Save(runDir, gpt, null, new CheckpointManifest { Step = summary.Iters, Model = gpt.Config, ModelFile = "", ModelSha256 = "" });
        tokenizer.Save(runDir);
        template?.Save(runDir);
        IO.AtomicFile.WriteAllText(infoPath, System.Text.Json.JsonSerializer.Serialize(new PackedRunInfo(config, examples.Count, summary.TrainSeconds, summary.FinalLoss, summary.Iters), Json.Options));
        gpt.eval();
        return new Trained(gpt, tokenizer, "packed examples", summary.Iters, summary.TrainSeconds, summary.FinalLoss);
    }

    static bool SameRun(string savedPath, PretrainConfig config)
    {
        var saved = Json.ReadFile<PretrainConfig>(savedPath);
        return saved.Model with { VocabSize = 0 } == config.Model with { VocabSize = 0 } && saved.Training == config.Training;
    }

    /// <summary>
    /// 2 layers × 128 dims with rotary positions (copying from context — demonstrations, operands, passages — then
    /// works the same at every offset, also past the lengths seen in training) and a two-token shift
    /// (<see cref="TokenShift"/>): every claim here rests on copying from the context, and without the shift these
    /// models did not learn to within the budget (the README gives the figures of that run); two taps let a copy
    /// tell apart the places a repeated digit occurs.
    /// </summary>
    static ModelConfig Small(int blockSize) => new()
    {
        BlockSize = blockSize, NLayer = 2, NHead = 4, NEmbd = 128, Dropout = 0, Bias = true, TieEmbeddings = true, PositionEncoding = "rope", TokenShift = 2,
    };

    /// <summary>A seed for one stream of the experiment (training text, a test set, a sample): the run's seed and the stream's name (FNV-1a).</summary>
    ulong SubSeed(string what)
    {
        ulong h = 14695981039346656037UL ^ (ulong)Seed;
        foreach (char c in what) h = (h ^ c) * 1099511628211UL;
        return h;
    }

    // ---------------------------------------------------------------- 1. in-context learning

    IclResult InContextLearning()
    {
        var clock = Stopwatch.StartNew();
        var (text, seen) = MappingCorpus(20_000, SubSeed("icl-train"));
        var trained = Train("icl", text, Small(96), steps: 1500, batch: 32, learningRate: 2e-3);
        var items = MappingTests(TestItems, SubSeed("icl-test"), seen);
        var gen = new Generator(trained.Model, trained.Tokenizer, device);
        char Answer(string prompt) => gen.Generate(prompt, Greedy(1)) is { Length: > 0 } s ? s[0] : '?';

        var curve = Shots.Select(k => new ShotPoint(k, Accuracy(items.Select(i => Answer(MappingPrompt(i.Function, i.Order[..k], i.Query)) == i.Function.Apply(i.Query))))).ToList();
        Log?.Invoke($"icl: accuracy by k: {string.Join(", ", curve.Select(p => $"k={p.K} {p.Accuracy:P1}"))}");

        // Selection: the function's eight labelled pairs are the pool; two are shown, most similar last.
        var embedder = new TextEmbedder(trained.Model, trained.Tokenizer, device);
        var inputEmbeddings = Domain.ToDictionary(c => c, c => embedder.Embed(c.ToString()));
        var selection = new Dictionary<string, double>();
        foreach (string strategy in new[] { "random", "bm25", "embedding" })
        {
            selection[strategy] = Accuracy(items.Select(item =>
            {
                char[] pool = item.Order; // already a random order
                char[] chosen = strategy switch
                {
                    "random" => pool[..SelectionShots],
                    "bm25" => Bm25Nearest(pool, item.Query),
                    _ => pool.OrderByDescending(c => TextEmbedder.Cosine(inputEmbeddings[c], inputEmbeddings[item.Query])).ThenBy(c => Array.IndexOf(pool, c)).Take(SelectionShots).Reverse().ToArray(),
                };
                return Answer(MappingPrompt(item.Function, chosen, item.Query)) == item.Function.Apply(item.Query);
            }));
        }
        Log?.Invoke($"icl: selection of {SelectionShots} from 8: {string.Join(", ", selection.Select(s => $"{s.Key} {s.Value:P1}"))}");
        return new IclResult(curve, selection, Run(trained), Math.Round(clock.Elapsed.TotalSeconds, 1));
    }

    /// <summary>The BM25 nearest pool inputs to the query (an index of one-letter documents), most similar last; draws top up.</summary>
    static char[] Bm25Nearest(char[] pool, char query)
    {
        var index = Bm25Index.Build(pool.Select(c => (c.ToString(), c.ToString())), new Bm25Options { ChunkWords = 8, OverlapWords = 0 });
        var hits = index.Search(query.ToString(), SelectionShots).Select(h => h.Chunk.Document[0]).ToList();
        foreach (char c in pool) if (hits.Count < SelectionShots && !hits.Contains(c)) hits.Add(c);
        hits.Reverse();
        return hits.ToArray();
    }

    // ---------------------------------------------------------------- 2. chain-of-thought and self-consistency

    CotResult ChainOfThought()
    {
        var clock = Stopwatch.StartNew();
        var (corpus, seen) = ChainCorpus(60_000, rationaleFraction: 0.5, SubSeed("cot-train"));
        string text = string.Concat(corpus);
        var tokenizer = CharTokenizer.FromText(text);
        // Each problem whole from position 0, with learned positions: every step of the scratchpad then reads its
        // operation, operand and previous value at the same absolute positions in every problem.
        var trained = TrainPacked("cot", text, tokenizer, corpus.Select(tokenizer.Encode).ToList(), b => Small(b) with { PositionEncoding = "learned" },
            steps: 1500, batch: 32, learningRate: 2e-3);
        var items = ChainTests(TestItems, ChainSteps, SubSeed("cot-test"), seen);
        var gen = new Generator(trained.Model, trained.Tokenizer, device);
        string Prompt(Chain c, string trigger) => $"{c.Question}\nA:{trigger}";

        double direct = Accuracy(items.Select(c => FirstDigit(gen.Generate(Prompt(c, DirectTrigger), Greedy(4) with { StopStrings = ["."] })) == c.Answer));
        int?[] greedyCot = items.Select(c => CotAnswer(gen.Generate(Prompt(c, CotTrigger), Greedy(48) with { StopStrings = ["\n"] }))).ToArray();
        double cot = Accuracy(items.Select((c, i) => greedyCot[i] == c.Answer));
        Log?.Invoke($"cot: direct {direct:P1}, chain-of-thought {cot:P1} on {items.Count} held-out 5-step problems");

        // Self-consistency: 16 sampled rationales per problem; maj@n votes over the first n (ties: the earliest answer).
        var subset = items.Take(SelfConsistencyItems).ToList();
        var samples = subset.Select((c, i) => Enumerable.Range(0, Votes[^1]).Select(s => CotAnswer(gen.Generate(Prompt(c, CotTrigger),
            Greedy(48) with { Temperature = SelfConsistencyTemperature, Seed = SubSeed($"sc-{i}-{s}"), StopStrings = ["\n"] }))).ToArray()).ToList();
        var votes = Votes.Select(n => new VotePoint(n, Accuracy(subset.Select((c, i) => Majority(samples[i].Take(n)) == c.Answer)))).ToList();
        double greedySubset = Accuracy(subset.Select((c, i) => greedyCot[i] == c.Answer));
        Log?.Invoke($"cot: self-consistency on {subset.Count}: {string.Join(", ", votes.Select(v => $"maj@{v.N} {v.Accuracy:P1}"))} (greedy {greedySubset:P1})");
        return new CotResult(direct, cot, votes, greedySubset, subset.Count, Run(trained), Math.Round(clock.Elapsed.TotalSeconds, 1));
    }

    static int? FirstDigit(string text) => text.FirstOrDefault(char.IsAsciiDigit) is char c and not '\0' ? c - '0' : null;

    static int? CotAnswer(string text) => AnswerPattern().Match(text) is { Success: true } m ? m.Groups[1].Value[0] - '0' : null;

    [GeneratedRegex(@"The answer is (\d)")]
    private static partial Regex AnswerPattern();

    /// <summary>The most frequent answer (none when no sample gave one); ties go to the answer seen first.</summary>
    static int? Majority(IEnumerable<int?> answers)
    {
        var given = answers.Where(a => a is not null).Select(a => a!.Value).ToList();
        return given.Count == 0 ? null : given.GroupBy(a => a).OrderByDescending(g => g.Count()).ThenBy(g => given.IndexOf(g.Key)).First().Key;
    }

    // ---------------------------------------------------------------- 3. tools

    /// <summary>The system message when no tool is offered.</summary>
    public const string NoTools = "Tools: none";

    /// <summary>What the system message says about tools to this small model: their names (it learned the call format).</summary>
    public static string DescribeTools(IEnumerable<AITool> tools) => "Tools: " + string.Join(", ", tools.Select(t => t.Name));

    ToolsResult ToolUse()
    {
        var clock = Stopwatch.StartNew();
        var calculator = CalculatorTool.Create();
        var withTools = new ChatOptions { Tools = [calculator] };
        // Without tools the system message says so: training windows start anywhere, so the model must not have to
        // guess from the absence of a message whether tools were offered.
        var withoutTools = new ChatOptions { Instructions = NoTools };
        // The question; with the tool, a call with the expression and the calculator's result; then the answer.
        IReadOnlyList<Turn> Conversation(string question, string expression, string answer, bool tools)
        {
            List<ChatMessage> conversation = [new(ChatRole.User, question)];
            if (tools)
            {
                conversation.Add(new(ChatRole.Assistant, [new FunctionCallContent("call_0", calculator.Name, new Dictionary<string, object?> { ["expression"] = expression })]));
                conversation.Add(new(ChatRole.Tool, [new FunctionResultContent("call_0", CalculatorTool.Call(expression))]));
            }
            conversation.Add(new(ChatRole.Assistant, answer));
            return ChatPrompt.Turns(conversation, tools ? withTools : withoutTools, DescribeTools);
        }
        var random = new SplitMix64(SubSeed("tools-train"));
        var conversations = new List<IReadOnlyList<Turn>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < 24_000; i++)
        {
            var problem = TrainingArithmetic(random);
            seen.Add(problem.Expression);
            bool tools = random.NextLong(2) == 0;
            conversations.Add(Conversation(problem.Ask((int)random.NextLong(QuestionForms.Length)), problem.Expression, problem.Answer, tools));
        }
        // A copying drill, as pre-training on text gives large models: a bare number of 1–12 digits, asked in the same
        // words and answered the same two ways. A model that uses tools must copy the expression into its call and the
        // result into its answer at any length; without the drill it learns that operands have at most three digits.
        // No operation in training has an operand of more than three.
        for (int i = 0; i < 8_000; i++)
        {
            string number = Digits(random, 1, 12).ToString(System.Globalization.CultureInfo.InvariantCulture);
            bool tools = random.NextLong(2) == 0;
            conversations.Add(Conversation(AskFor(number, (int)random.NextLong(QuestionForms.Length)), number, number, tools));
        }
        var trained = TrainChat("tools", conversations, steps: 2500, batch: 12, learningRate: 2e-3);
        // Lenient: a tool's error message may hold characters the training text never had.
        using var client = new CheckpointChatClient(trained.Model, new LenientTokenizer(trained.Tokenizer), ChatTemplate.Default, device)
        {
            DescribeTools = DescribeTools, Defaults = Greedy(96),
        };
        var invoking = new FunctionInvokingChatClient(client) { MaximumIterationsPerRequest = 3 };

        var shortRandom = new SplitMix64(SubSeed("tools-test-short"));
        var shortItems = new List<Arithmetic>();
        while (shortItems.Count < TestItems)
            if (TrainingArithmetic(shortRandom) is var p && !seen.Contains(p.Expression)) shortItems.Add(p);
        var longItems = LongArithmetic(TestItems, SubSeed("tools-test-long"));

        int calls = 0;
        bool Ask(Arithmetic p, bool tools)
        {
            var options = tools ? new ChatOptions { Tools = [calculator], Temperature = 0 } : new ChatOptions { Instructions = NoTools, Temperature = 0 };
            var response = (tools ? (IChatClient)invoking : client).GetResponseAsync([new ChatMessage(ChatRole.User, p.Question)], options).GetAwaiter().GetResult();
            calls += response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Count();
            return response.Messages[^1].Text.Trim() == p.Answer;
        }
        var result = new ToolsResult(
            LongNoTool: Accuracy(longItems.Select(p => Ask(p, tools: false))),
            LongTool: Accuracy(longItems.Select(p => Ask(p, tools: true))),
            ShortNoTool: Accuracy(shortItems.Select(p => Ask(p, tools: false))),
            ShortTool: Accuracy(shortItems.Select(p => Ask(p, tools: true))),
            CallsPerToolProblem: Math.Round(calls / (2.0 * TestItems), 3),
            Training: Run(trained), Seconds: Math.Round(clock.Elapsed.TotalSeconds, 1));
        Log?.Invoke($"tools: longer problems {result.LongNoTool:P1} without the calculator, {result.LongTool:P1} with it; training-length problems {result.ShortNoTool:P1} / {result.ShortTool:P1}");
        return result;
    }

    // ---------------------------------------------------------------- 4. retrieval augmentation

    /// <summary>The instruction before the passages: short, since the model reads it character by character.</summary>
    public const string RagInstruction = "Answer from the passages and cite one.";
    /// <summary>Passages retrieved per question: the best fact card.</summary>
    public const int RagPassages = 1;

    RagResult RetrievalAugmented()
    {
        var clock = Stopwatch.StartNew();
        var trainTowns = Towns(800, SubSeed("rag-train"));
        var testTowns = Towns(TestItems, SubSeed("rag-test"), trainTowns.Select(t => t.Name).ToHashSet(StringComparer.OrdinalIgnoreCase));
        var trainIndex = Bm25Index.Build(trainTowns.SelectMany(t => t.Facts()).Select(f => (f.FileName, f.Text)));
        var random = new SplitMix64(SubSeed("rag-mix"));
        var rag = new RetrievalAugmentation(trainIndex, NoClient.Instance) { K = RagPassages, Instruction = RagInstruction };
        var conversations = new List<IReadOnlyList<Turn>>();
        // Training: closed-book questions about the training towns (whose facts the model may learn by heart) and
        // retrieval-augmented ones, whose answers it can read in the passage.
        for (int round = 0; round < 6; round++)
            foreach (var town in trainTowns)
            {
                var fact = town.Facts().ElementAt((int)random.NextLong(3));
                var hits = trainIndex.Search(fact.Question, RagPassages);
                List<ChatMessage> conversation = round == 0
                    ? [new(ChatRole.User, fact.Question), new(ChatRole.Assistant, fact.Answer)]
                    : [new(ChatRole.User, rag.Prompt(fact.Question, hits)), new(ChatRole.Assistant, $"{fact.Answer} [{hits[0].Chunk.Citation}]")];
                conversations.Add(ChatPrompt.Turns(conversation));
            }
        var trained = TrainChat("rag", conversations, steps: 1500, batch: 8, learningRate: 2e-3);

        // The test towns exist only as files in a folder, indexed as `sharplm rag index` would.
        string folder = Path.Combine(OutDir, "rag", "documents");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        foreach (var fact in testTowns.SelectMany(t => t.Facts())) IO.AtomicFile.WriteAllText(Path.Combine(folder, fact.FileName), fact.Text + "\n");
        var index = Bm25Index.BuildFromFolder(folder);
        using var client = new CheckpointChatClient(trained.Model, new LenientTokenizer(trained.Tokenizer), ChatTemplate.Default, device) { Defaults = Greedy(48) };
        var augmented = new RetrievalAugmentation(index, client) { K = RagPassages, Instruction = RagInstruction };
        var questions = testTowns.Select(t => t.Facts().ElementAt((int)random.NextLong(3))).ToList();

        static string WithoutCitation(string answer) => Regex.Replace(answer, @"\s*\[[^\]]*\]\s*$", "").Trim();
        double closed = Accuracy(questions.Select(q => WithoutCitation(client.GetResponseAsync([new ChatMessage(ChatRole.User, q.Question)]).GetAwaiter().GetResult().Text) == q.Answer));
        int retrieved = 0, cited = 0;
        double open = Accuracy(questions.Select(q =>
        {
            var answer = augmented.AskAsync(q.Question).GetAwaiter().GetResult();
            if (answer.Passages.Any(p => p.Chunk.Document == q.FileName)) retrieved++;
            if (answer.Cited.FirstOrDefault()?.Chunk.Document == q.FileName) cited++;
            return WithoutCitation(answer.Answer) == q.Answer;
        }));
        var result = new RagResult(closed, open, (double)retrieved / questions.Count, (double)cited / questions.Count, Run(trained), Math.Round(clock.Elapsed.TotalSeconds, 1));
        Log?.Invoke($"rag: closed-book {closed:P1}, retrieval-augmented {open:P1} (the right card retrieved {result.RetrievalRecall:P1}, cited {result.CitationAccuracy:P1})");
        return result;
    }

    /// <summary>Renders prompts only: the training text is built with the same <see cref="RetrievalAugmentation.Prompt"/> the test asks with.</summary>
    sealed class NoClient : IChatClient
    {
        public static readonly NoClient Instance = new();
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public object? GetService(Type serviceType, object? serviceKey = null) => null;
        public void Dispose() { }
    }

    // ---------------------------------------------------------------- shared

    static SamplingOptions Greedy(int maxTokens) => new() { MaxNewTokens = maxTokens, Temperature = 0, TopK = 0, TopP = 1 };

    static double Accuracy(IEnumerable<bool> outcomes)
    {
        int n = 0, right = 0;
        foreach (bool ok in outcomes) { n++; if (ok) right++; }
        return n == 0 ? 0 : (double)right / n;
    }

    static TrainingRun Run(Trained t) => new(t.Objective, t.Model.ParameterCount, t.Model.Config.BlockSize, t.Iters, Math.Round(t.TrainSeconds, 1), Math.Round(t.FinalLoss, 4));
}
