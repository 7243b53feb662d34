using SharpLM.Runtime;

namespace SharpLM.Experiments.Speedrun;

/// <summary>
/// Everything a speedrun does, as data: the presets (<see cref="Default"/>, <see cref="Quick"/>) are two values of this
/// record, and `sharplm speedrun --config FILE` reads a third from JSON (snake_case, every field optional, an
/// unknown field an error naming the file). Each stage fingerprints only its own part (and the seed), so changing
/// <see cref="Sft"/> reruns SFT and what reads it, never the cleaning or pre-training before it.
/// </summary>
public sealed record SpeedrunOptions
{
    /// <summary>The text corpus: a data set name of the manifest ("tinyshakespeare"), a path or a URL.</summary>
    public string Corpus { get; init; } = "tinyshakespeare";
    /// <summary>Cleaning, and the skill statements mixed into the corpus first.</summary>
    public SpeedrunClean Clean { get; init; } = new();
    /// <summary>Size of the byte-level BPE vocabulary trained on the cleaned corpus (special tokens included).</summary>
    public int VocabSize { get; init; } = 1024;
    /// <summary>The pre-training preset and its overrides.</summary>
    public SpeedrunPretrain Pretrain { get; init; } = new();
    /// <summary>Instruction tuning on the synthetic suite.</summary>
    public SpeedrunSft Sft { get; init; } = new();
    /// <summary>DPO on house-style preference pairs.</summary>
    public SpeedrunAlign Align { get; init; } = new();
    /// <summary>Benchmarks, the held-out chat prompts and the samples of the report card.</summary>
    public SpeedrunEval Eval { get; init; } = new();
    /// <summary>Seeds every stage.</summary>
    public int Seed { get; init; } = 1337;
    /// <summary>Intra-op threads (0 = all cores). Not part of any fingerprint: a rerun on another thread count reuses finished stages.</summary>
    public int Threads { get; init; }

    /// <summary>The preset names `--preset` takes.</summary>
    public static readonly IReadOnlyList<string> PresetNames = ["default", "quick"];

    /// <summary>
    /// The bundled default: tinyshakespeare with 100,000 skill statements, a 1,024-token BPE, the chat-base model for 3,000
    /// steps, 800 SFT steps and 20 DPO steps; measured at about 15 minutes on 2 cores (README).
    /// </summary>
    public static SpeedrunOptions Default { get; } = new();

    /// <summary>The same lifecycle at about a tenth of the steps: a first command that finishes in a couple of minutes.</summary>
    public static SpeedrunOptions Quick { get; } = new()
    {
        Clean = new SpeedrunClean { SkillStatements = 20_000 },
        Pretrain = new SpeedrunPretrain { Overrides = new Dictionary<string, string> { ["max_iters"] = "200", ["lr_decay_iters"] = "200", ["warmup_iters"] = "20", ["eval_interval"] = "100" } },
        Sft = new SpeedrunSft { MaxIters = 100, EvalLimit = 30, EvalInterval = 100 },
        Align = new SpeedrunAlign { Steps = 10, Pairs = 320 },
        Eval = new SpeedrunEval { Limit = 50, ChatPrompts = 20, KlSamples = 2, SampleTokens = 150 },
    };

    /// <summary>The preset called <paramref name="name"/>.</summary>
    /// <exception cref="InvalidInputException">Not one of <see cref="PresetNames"/>.</exception>
    public static SpeedrunOptions Preset(string name) => name switch
    {
        "default" => Default,
        "quick" => Quick,
        _ => throw new InvalidInputException($"speedrun preset '{name}' is not one of {string.Join(", ", PresetNames)}"),
    };

    /// <summary>Reads options from a JSON file; missing fields keep the default preset's values.</summary>
    /// <exception cref="InvalidInputException">The file is missing, malformed, names an unknown field or holds a value out of range; names the file.</exception>
    public static SpeedrunOptions Load(string path)
    {
        var options = Json.ReadFile<SpeedrunOptions>(path);
        try
        {
            return options.Validate();
        }
        catch (InvalidInputException e)
        {
            throw InvalidInputException.ForFile(path, e.Message, e);
        }
    }

    /// <summary>Checks the counts that would otherwise fail deep inside a stage; returns these options.</summary>
    /// <exception cref="InvalidInputException">A count out of range, naming the field.</exception>
    public SpeedrunOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(Corpus)) throw new InvalidInputException("speedrun: corpus must name a data set or file");
        if (Clean.SkillStatements < 0) throw new InvalidInputException("speedrun: clean.skill_statements must not be negative");
        if (VocabSize < 260) throw new InvalidInputException("speedrun: vocab_size must be at least 260 (256 bytes and the special tokens)");
        if (Sft.MaxIters < 1 || Sft.BatchSize < 1) throw new InvalidInputException("speedrun: sft.max_iters and sft.batch_size must be positive");
        if (Sft.StyledReplies is < 0 or > 1) throw new InvalidInputException("speedrun: sft.styled_replies must be a fraction in [0, 1]");
        if (Align.Steps < 1 || Align.BatchSize < 1) throw new InvalidInputException("speedrun: align.steps and align.batch_size must be positive");
        if (Align.Pairs < 0) throw new InvalidInputException("speedrun: align.pairs must not be negative (0 = all)");
        if (Eval.Tasks.Count > 0 && Eval.Limit is <= 0) throw new InvalidInputException("speedrun: eval.limit must be positive (or null for every document)");
        if (Eval.ChatPrompts < 1 || Eval.KlSamples < 1) throw new InvalidInputException("speedrun: eval.chat_prompts and eval.kl_samples must be positive");
        if (Threads < 0) throw new InvalidInputException("speedrun: threads must not be negative");
        return this;
    }
}

/// <summary>The cleaning stage's settings.</summary>
public sealed record SpeedrunClean
{
    /// <summary>
    /// Statements of the synthetic suite's facts (`sharplm data skills`) spread between the corpus's paragraphs before
    /// cleaning, so the base has the skills instruction tuning then asks for; 0 cleans the corpus alone.
    /// </summary>
    public int SkillStatements { get; init; } = 100_000;
    /// <summary>
    /// Data sets of the manifest the corpus is decontaminated against (13-gram overlap), by default the benchmarks the
    /// evaluation stage runs.
    /// </summary>
    public IReadOnlyList<string> Decontaminate { get; init; } = ["arc-easy", "piqa"];
}

/// <summary>The pre-training stage's settings.</summary>
public sealed record SpeedrunPretrain
{
    /// <summary>A bundled config (configs/*.json): chat-base has the llama-style model with a 128-token context.</summary>
    public string Preset { get; init; } = "chat-base";
    /// <summary>Config fields overridden as `sharplm pretrain --field value` would (the tokenizer is always the speedrun's own).</summary>
    public IReadOnlyDictionary<string, string> Overrides { get; init; } = new Dictionary<string, string>
    {
        ["max_iters"] = "3000", ["lr_decay_iters"] = "3000", ["eval_interval"] = "500",
    };
}

/// <summary>The SFT stage's settings: full fine-tuning on the synthetic instruction suite, some replies in the house style.</summary>
public sealed record SpeedrunSft
{
    /// <summary>Optimizer steps.</summary>
    public int MaxIters { get; init; } = 800;
    /// <summary>Packed rows per step.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Peak learning rate (the README's alignment chain uses 2e-3).</summary>
    public double LearningRate { get; init; } = 2e-3;
    /// <summary>Share of training replies written as "Answer: X", the style the alignment stage then prefers.</summary>
    public double StyledReplies { get; init; } = 0.3;
    /// <summary>Held-out prompts scored at each evaluation (0 = all).</summary>
    public int EvalLimit { get; init; } = 180;
    /// <summary>Steps between evaluations.</summary>
    public int EvalInterval { get; init; } = 400;
}

/// <summary>The alignment stage's settings: DPO with a LoRA policy (the reference is the adapter switched off).</summary>
public sealed record SpeedrunAlign
{
    /// <summary>DPO steps.</summary>
    public int Steps { get; init; } = 20;
    /// <summary>Preference pairs per step.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Learning rate (the alignment experiment's DPO rate).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>DPO's β.</summary>
    public double Beta { get; init; } = 0.1;
    /// <summary>Preference pairs trained on: N spread evenly over the suite's (0 = all 1,800). Each one costs a reference forward pass before step 1.</summary>
    public int Pairs { get; init; }
}

/// <summary>The evaluation stage's settings.</summary>
public sealed record SpeedrunEval
{
    /// <summary>Shipped task names (tasks/*.yaml) or task files, run on the base, SFT and aligned models.</summary>
    public IReadOnlyList<string> Tasks { get; init; } = ["tinyshakespeare", "arc_easy", "piqa"];
    /// <summary>First documents of each task (null = all).</summary>
    public int? Limit { get; init; } = 500;
    /// <summary>Held-out synthetic-suite prompts the SFT and aligned models answer greedily.</summary>
    public int ChatPrompts { get; init; } = 100;
    /// <summary>Sampled replies per prompt for the aligned model's KL to the SFT model.</summary>
    public int KlSamples { get; init; } = 4;
    /// <summary>Most tokens of a chat reply.</summary>
    public int MaxReplyTokens { get; init; } = 24;
    /// <summary>The base model's sample: its prompt and length in tokens.</summary>
    public string SamplePrompt { get; init; } = "ROMEO:";
    /// <summary>Tokens sampled after <see cref="SamplePrompt"/>.</summary>
    public int SampleTokens { get; init; } = 300;
}
