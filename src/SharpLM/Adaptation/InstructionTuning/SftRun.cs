using System.Text.Json;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.Peft;
using SharpLM.Adaptation.Peft.Adapter;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Adaptation.Peft.Prefix;
using SharpLM.Adaptation.Peft.Prompt;
using SharpLM.IO;
using SharpLM.Modeling;
using SharpLM.Runtime;
using SharpLM.Tokenization;
using SharpLM.Training;
using TorchSharp;
using SharpLM.Checkpoints;

namespace SharpLM.Adaptation.InstructionTuning;

/// <summary>How to instruction-tune: the base, the data, the method and its options.</summary>
public sealed record SftRunOptions
{
    /// <summary>Directory of the base checkpoint: a decoder-only Transformer with its tokenizer.</summary>
    public required string Base { get; init; }
    /// <summary>The data file, or "synthetic" / "synthetic:SEED" with format "tasks".</summary>
    public required string Data { get; init; }
    /// <summary>alpaca, chatml, sharegpt, messages or tasks (see <see cref="SftData.Load"/>).</summary>
    public required string Format { get; init; }
    /// <summary><see cref="Full"/> or the name of a method in <see cref="PeftMethods"/>.</summary>
    public string Method { get; init; } = Full;
    /// <summary>Used when <see cref="Method"/> is "lora".</summary>
    public LoraOptions Lora { get; init; } = new();
    /// <summary>Used when <see cref="Method"/> is "adapter".</summary>
    public AdapterOptions Adapter { get; init; } = new();
    /// <summary>Used when <see cref="Method"/> is "prefix".</summary>
    public PrefixOptions Prefix { get; init; } = new();
    /// <summary>Used when <see cref="Method"/> is "prompt".</summary>
    public PromptOptions Prompt { get; init; } = new();
    /// <summary>Optimisation settings, including the seed and the device.</summary>
    public SftOptions Training { get; init; } = new();
    /// <summary>The synthetic suite's settings for format "tasks"; null uses the defaults (a seed in
    /// <see cref="Data"/> replaces theirs).</summary>
    public SyntheticSuiteOptions? Suite { get; init; }
    /// <summary>Held-out prompts scored at each evaluation (all when 0).</summary>
    public int EvalLimit { get; init; }

    /// <summary>Full fine-tuning: every weight trains, and the run saves a checkpoint rather than an adapter.</summary>
    public const string Full = "full";

    /// <summary>The values <see cref="Method"/> may take: <see cref="Full"/>, then every registered PEFT method.</summary>
    public static readonly string[] Methods = [Full, .. PeftMethods.All.Select(m => m.Name)];

    /// <summary>The name <see cref="Write"/>'s file gets in a run directory.</summary>
    public const string FileName = "sft_options.json";

    /// <summary>
    /// Writes these options as JSON (<see cref="Json"/>'s conventions) to <paramref name="path"/>, atomically: how a
    /// child process gets a run exactly as the parent built it (every field, numbers to the last bit) rather than
    /// through a re-built command line that only carries what has a flag.
    /// </summary>
    /// <exception cref="InvalidInputException">The synthetic suite has its own task list, which is code, not data.</exception>
    public void Write(string path)
    {
        if (Suite?.Tasks is not null)
            throw new InvalidInputException("an options file cannot carry the synthetic suite's own tasks (they are code); run such a suite in process");
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json.Options));
    }

    /// <summary>The options <see cref="Write"/> wrote to <paramref name="path"/>, checked as the command line checks them.</summary>
    /// <exception cref="InvalidInputException">The file is missing or malformed, or a setting is out of range; names the file.</exception>
    public static SftRunOptions Read(string path)
    {
        var options = Json.ReadFile<SftRunOptions>(path);
        try
        {
            options.Training.Validate();
        }
        catch (InvalidInputException e)
        {
            throw InvalidInputException.ForFile(path, e.Message, e);
        }
        foreach (var method in PeftMethods.All) method.Check(options, path);
        return options;
    }
}

/// <summary>sft_summary.json: the run's figures, with the exact match of the base before tuning.</summary>
public sealed record SftRunSummary
{
    /// <summary>The method trained: full, lora, adapter, prefix or prompt.</summary>
    public required string Method { get; init; }
    /// <summary>What the training loop reported.</summary>
    public required SftSummary Training { get; init; }
    /// <summary>Exact match (0–1) of the base on the held-out prompts, before tuning.</summary>
    public required double BaseExactMatch { get; init; }
    /// <summary>Exact match (0–1) per task after tuning, on the held-out prompts ("chat" for chat files).</summary>
    public required IReadOnlyDictionary<string, double> PerTaskExactMatch { get; init; }
    /// <summary>Exact match on instructions in phrasings never trained on (synthetic suite only).</summary>
    public double? HeldOutPhrasingExactMatch { get; init; }
    /// <summary>Training conversations the tokenizer could encode, and so trained on.</summary>
    public required int TrainExamples { get; init; }
    /// <summary>Training conversations left out because the tokenizer cannot encode them.</summary>
    public int SkippedExamples { get; init; }
    /// <summary>Held-out prompts scored at each evaluation (after <see cref="SftRunOptions.EvalLimit"/>).</summary>
    public required int HeldOutPrompts { get; init; }
    /// <summary>Bytes of what the run saved: the full checkpoint's weights, or the adapter's.</summary>
    public required long SavedBytes { get; init; }
}

/// <summary>
/// `sharplm sft` as a library call: loads a base checkpoint, formats the data with its chat template, applies the
/// method (full fine-tuning or a PEFT method, which freezes the base), trains with <see cref="SftTrainer"/>, and
/// writes OUT: a full checkpoint (full) or an adapter directory (PEFT), plus the tokenizer, the chat template,
/// metrics.jsonl and sft_summary.json.
/// </summary>
public static class SftRun
{
    /// <summary>The summary's file name in the output directory.</summary>
    public const string SummaryFile = "sft_summary.json";

    /// <summary>
    /// Runs instruction tuning as <c>sharplm sft</c> does and writes everything to <paramref name="outDir"/>, which must
    /// not already hold a checkpoint or an adapter. When the base's tokenizer lacks the chat tokens, full fine-tuning adds
    /// them and grows the vocabulary; a PEFT method cannot.
    /// </summary>
    /// <param name="options">The base, data, method and training settings.</param>
    /// <param name="outDir">Output directory; created if missing.</param>
    /// <param name="onStep">Also called after every step (each step is logged to metrics.jsonl either way).</param>
    /// <param name="onEval">Also called after every held-out evaluation.</param>
    /// <exception cref="InvalidInputException">An unknown method, an occupied output directory, an unsuitable base, or
    /// data with nothing the tokenizer can encode.</exception>
    public static SftRunSummary Run(SftRunOptions options, string outDir, Action<SftStep>? onStep = null, Action<SftEval>? onEval = null)
    {
        if (!SftRunOptions.Methods.Contains(options.Method))
            throw new InvalidInputException($"--method: '{options.Method}' is not supported ({string.Join(", ", SftRunOptions.Methods)})");
        if (Checkpoint.Exists(outDir) || File.Exists(Path.Combine(outDir, AdapterDirectory.ConfigFile)))
            throw InvalidInputException.ForFile(outDir, "already holds a model or adapter; choose another --out");
        var device = TorchRuntime.ParseDevice(options.Training.Device);
        var bundle = ModelBundle.Load(options.Base, device);
        var model = bundle.Decoder("instruction tuning");
        ITokenizer tokenizer = bundle.Tokenizer;
        var template = bundle.ChatTemplate;
        var missing = template.RequiredSpecialTokens.Where(t => tokenizer.IdOf(t) is null).ToList();
        if (missing.Count > 0)
        {
            // New tokens need new embedding rows, which only full fine-tuning trains.
            if (options.Method != SftRunOptions.Full)
                throw InvalidInputException.ForFile(options.Base, $"tokenizer lacks the chat tokens {string.Join(" ", missing)}, and --method {options.Method} cannot train new embedding rows; use --method full, or pretrain the base with --tokenizer char-chat");
            tokenizer = tokenizer.WithSpecialTokens(missing);
            if (tokenizer.VocabSize > model.Config.VocabSize) model.ResizeVocabulary(tokenizer.VocabSize); // a padded vocabulary may have the rows already
        }

        var data = SftData.Load(options.Data, options.Format, suite: options.Suite);
        var examples = data.Examples(template, tokenizer, out int skipped);
        if (examples.Count == 0) throw InvalidInputException.ForFile(options.Data, $"none of its {skipped} conversations can be encoded by the base's tokenizer");
        var encodable = SftData.Encodable(data.HeldOut, template, tokenizer);
        if (encodable.Count == 0) throw InvalidInputException.ForFile(options.Data, "no held-out conversation can be encoded by the base's tokenizer");
        var heldOut = options.EvalLimit > 0 ? encodable.Take(options.EvalLimit).ToList() : encodable;
        var evaluator = new ExactMatchEvaluator(model, tokenizer, template, device, heldOut);
        double before = evaluator.ExactMatch();

        torch.manual_seed(options.Training.Seed); // the method's fresh weights are drawn from the run's seed
        PeftMethod? method = PeftMethods.Find(options.Method)?.Apply(model, options);

        Directory.CreateDirectory(outDir);
        bool writes = (Distributed.Mpi.LaunchedRank ?? 0) == 0; // under mpirun rank 0 writes the run; every rank trains
        using var log = writes ? new MetricsLog(outDir, null) : null;
        var trainer = new SftTrainer(model, options.Training, examples)
        {
            EvaluateExactMatch = evaluator.ExactMatch,
            LearningRateScale = method is null ? null : method.LearningRateScale,
            OnStep = s => { log?.Write(s); onStep?.Invoke(s); },
            OnEval = e => { log?.Write(e); onEval?.Invoke(e); },
        };
        var summary = trainer.Run();
        var (_, perTask) = evaluator.Score();
        var phrasingPrompts = SftData.Encodable(data.HeldOutPhrasings, template, tokenizer);
        var phrasings = options.EvalLimit > 0 ? phrasingPrompts.Take(options.EvalLimit).ToList() : phrasingPrompts;
        double? phrasingMatch = phrasings.Count > 0 ? new ExactMatchEvaluator(model, tokenizer, template, device, phrasings).ExactMatch() : null;

        long saved = 0;
        if (!writes) { }
        else if (method is null)
        {
            var manifest = Checkpoint.Save(outDir, model, null, new CheckpointManifest { Step = summary.Iters, Model = model.Config, ModelFile = "", ModelSha256 = "" });
            saved = new FileInfo(Path.Combine(outDir, manifest.ModelFile)).Length;
        }
        else
        {
            method.Save(outDir);
            saved = new FileInfo(Path.Combine(outDir, AdapterDirectory.WeightsFile)).Length;
        }
        if (writes)
        {
            tokenizer.Save(outDir);
            template.Save(outDir);
        }
        var result = new SftRunSummary
        {
            Method = options.Method, Training = summary, BaseExactMatch = before, PerTaskExactMatch = perTask, HeldOutPhrasingExactMatch = phrasingMatch,
            TrainExamples = examples.Count, SkippedExamples = skipped, HeldOutPrompts = heldOut.Count, SavedBytes = saved,
        };
        if (writes) AtomicFile.WriteAllText(Path.Combine(outDir, SummaryFile), JsonSerializer.Serialize(result, Json.Options));
        return result;
    }
}
