using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Adaptation.Peft.Adapter;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Adaptation.Peft.Prefix;
using SharpLM.Adaptation.Peft.Prompt;
using SharpLM.Modeling;

namespace SharpLM.Adaptation.Peft;

/// <summary>
/// One command-line flag of a method's options (<c>sharplm sft --lora-r 8</c>). The CLI builds a typed option from
/// <see cref="DefaultValue"/>'s type (int, double or string) and folds the parsed value into the options with
/// <see cref="Set"/>, so a method's flags, defaults and option fields are stated once, here, not in the CLI.
/// </summary>
/// <param name="Name">The flag, with its dashes ("--lora-r").</param>
/// <param name="Description">Help text; null where the name says it all.</param>
/// <param name="DefaultValue">The value of a fresh options record (so the flag's default is the library's).</param>
/// <param name="Set">The options with the flag's value in place: (options, value) → options.</param>
public sealed record PeftFlag(string Name, string? Description, object DefaultValue, Func<object, object, object> Set);

/// <summary>
/// A PEFT method as the rest of SharpLM sees it (Hugging Face PEFT's <c>register_peft_method</c>): its name, its
/// options and where they live in <see cref="PeftConfig"/> and <see cref="SftRunOptions"/>, how it is applied, how its
/// parameters are told apart from the base's by name, how large its saved weights must at least be, and its
/// command-line flags. <see cref="PeftMethods"/> lists them; SFT, adapter loading and checking, <see cref="PeftMethod.IsAdapted"/>
/// and the CLI all derive from that list, so adding a method is one entry, not edits in eight places.
/// </summary>
public abstract class PeftMethodRegistration
{
    /// <summary>The method's name: adapter_config.json's "method" and <c>sft --method</c>'s value.</summary>
    public required string Name { get; init; }

    /// <summary>How the method is called in prose ("LoRA", "prompt tuning"), for help texts.</summary>
    public required string Title { get; init; }

    /// <summary>
    /// The peak learning rate the method's paper and PEFT's examples use at SharpLM's scale: the fewer and the more
    /// freshly initialised the trained parameters, the larger the step. The peft experiment trains each method at it.
    /// </summary>
    public required double LearningRate { get; init; }

    /// <summary>The method's command-line flags, in help order (each built with <see cref="PeftMethodRegistration{TOptions}.Flag{TValue}"/>).</summary>
    public required IReadOnlyList<PeftFlag> Flags { get; init; }

    /// <summary>The flags as one error prefix: the only flag's name, or "--NAME-*" for several.</summary>
    public string FlagSource => Flags.Count == 1 ? Flags[0].Name : $"--{Name}-*";

    /// <summary>A fresh options record of the method (what the flags start from).</summary>
    public abstract object DefaultOptions { get; }

    /// <summary>Whether the parameter <paramref name="parameterName"/> belongs to this method rather than to the base:
    /// what lets a model with a method applied be recognised (<see cref="PeftMethod.IsAdapted"/>).</summary>
    public abstract bool OwnsParameter(string parameterName);

    /// <summary><paramref name="run"/> with <paramref name="options"/> (of this method's type) as this method's options,
    /// checked; errors start with <paramref name="source"/>.</summary>
    /// <exception cref="InvalidInputException">An option is out of range.</exception>
    public abstract SftRunOptions WithOptions(SftRunOptions run, object options, string source);

    /// <summary>Checks this method's options in <paramref name="run"/>; errors start with <paramref name="source"/>.</summary>
    /// <exception cref="InvalidInputException">An option is out of range.</exception>
    public abstract void Check(SftRunOptions run, string source);

    /// <summary>Applies the method with <paramref name="run"/>'s options for it to <paramref name="model"/>, recording
    /// the run's base as where the model came from.</summary>
    public abstract PeftMethod Apply(Gpt model, SftRunOptions run);

    /// <summary>Applies the method with the options block of a saved adapter's <paramref name="config"/>.</summary>
    public abstract PeftMethod Apply(Gpt model, PeftConfig config, string? baseCheckpoint);

    /// <summary>Whether <paramref name="config"/> has this method's options block.</summary>
    public abstract bool HasOptions(PeftConfig config);

    /// <summary>
    /// The option fields that set the weight file's size and the number of values they imply at least
    /// (<see cref="IO.DeclaredSizes"/>): the method's tensors are allocated from the options before the
    /// weights are read, and the options may come from a stranger.
    /// </summary>
    public abstract (string Field, double Values) DeclaredSize(PeftConfig config);
}

/// <summary>A <see cref="PeftMethodRegistration"/> whose options are a <typeparamref name="TOptions"/> record; every
/// method-specific piece is a delegate, so an entry of <see cref="PeftMethods"/> reads as one table row.</summary>
public sealed class PeftMethodRegistration<TOptions> : PeftMethodRegistration where TOptions : class, new()
{
    /// <summary>Checks options, prefixing errors with the source; returns them.</summary>
    public required Func<TOptions, string, TOptions> Validate { get; init; }
    /// <summary>Applies the method: (model, options, base checkpoint) → method.</summary>
    public required Func<Gpt, TOptions, string?, PeftMethod> ApplyOptions { get; init; }
    /// <summary>The options block of adapter_config.json, null when absent.</summary>
    public required Func<PeftConfig, TOptions?> InConfig { get; init; }
    /// <summary>The method's options in an SFT run.</summary>
    public required Func<SftRunOptions, TOptions> InRun { get; init; }
    /// <summary>An SFT run with the method's options replaced.</summary>
    public required Func<SftRunOptions, TOptions, SftRunOptions> WithRun { get; init; }
    /// <summary>See <see cref="PeftMethodRegistration.DeclaredSize"/>: (options, base config) → (fields, values).</summary>
    public required Func<TOptions, ModelConfig, (string Field, double Values)> Declared { get; init; }
    /// <summary>See <see cref="PeftMethodRegistration.OwnsParameter"/>.</summary>
    public required Func<string, bool> Owns { get; init; }

    /// <summary>A flag whose default is <paramref name="get"/> of a fresh options record.</summary>
    public static PeftFlag Flag<TValue>(string name, string? description, Func<TOptions, TValue> get, Func<TOptions, TValue, TOptions> set) where TValue : notnull =>
        new(name, description, get(new TOptions()), (options, value) => set((TOptions)options, (TValue)value));

    /// <inheritdoc/>
    public override object DefaultOptions => new TOptions();
    /// <inheritdoc/>
    public override bool OwnsParameter(string parameterName) => Owns(parameterName);
    /// <inheritdoc/>
    public override SftRunOptions WithOptions(SftRunOptions run, object options, string source) => WithRun(run, Validate((TOptions)options, source));
    /// <inheritdoc/>
    public override void Check(SftRunOptions run, string source) => Validate(InRun(run), source);
    /// <inheritdoc/>
    public override PeftMethod Apply(Gpt model, SftRunOptions run) => ApplyOptions(model, InRun(run), run.Base);
    /// <inheritdoc/>
    public override PeftMethod Apply(Gpt model, PeftConfig config, string? baseCheckpoint) => ApplyOptions(model, InConfig(config)!, baseCheckpoint);
    /// <inheritdoc/>
    public override bool HasOptions(PeftConfig config) => InConfig(config) is not null;
    /// <inheritdoc/>
    public override (string Field, double Values) DeclaredSize(PeftConfig config) => Declared(InConfig(config)!, config.BaseModel);
}

/// <summary>The registry of PEFT methods: every method SharpLM implements, in the order help texts and the peft
/// experiment list them.</summary>
public static class PeftMethods
{
    /// <summary>LoRA (<see cref="LoraTuning"/>): low-rank updates of chosen Linear layers; parameters "….lora….".</summary>
    public static readonly PeftMethodRegistration<LoraOptions> Lora = new()
    {
        Name = "lora", Title = "LoRA", LearningRate = 1e-2,
        Validate = (o, source) => o.Validate(source),
        ApplyOptions = (model, o, from) => LoraTuning.Apply(model, o, from),
        InConfig = c => c.Lora, InRun = r => r.Lora, WithRun = (r, o) => r with { Lora = o },
        Declared = (o, b) => ($"lora.rank {o.Rank}", (double)o.Rank * b.NEmbd),
        Owns = name => name.Contains(".lora", StringComparison.Ordinal),
        Flags =
        [
            PeftMethodRegistration<LoraOptions>.Flag("--lora-r", null, o => o.Rank, (o, v) => o with { Rank = v }),
            PeftMethodRegistration<LoraOptions>.Flag("--lora-alpha", null, o => o.Alpha, (o, v) => o with { Alpha = v }),
            PeftMethodRegistration<LoraOptions>.Flag("--lora-dropout", null, o => o.Dropout, (o, v) => o with { Dropout = v }),
            PeftMethodRegistration<LoraOptions>.Flag("--lora-plus-ratio", "LoRA+: B's learning rate over A's (1 = plain LoRA; the paper suggests 16).", o => o.LoraPlusLrRatio, (o, v) => o with { LoraPlusLrRatio = v }),
            PeftMethodRegistration<LoraOptions>.Flag("--lora-targets", "Comma-separated module patterns.", o => string.Join(",", o.TargetModules),
                (o, v) => o with { TargetModules = v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) }),
        ],
    };

    /// <summary>Adapter tuning (<see cref="AdapterTuning"/>): bottleneck adapters after every sublayer; parameters "….adapter_….".</summary>
    public static readonly PeftMethodRegistration<AdapterOptions> Adapter = new()
    {
        Name = "adapter", Title = "adapters", LearningRate = 5e-3,
        Validate = (o, source) => o.Validate(source),
        ApplyOptions = (model, o, from) => AdapterTuning.Apply(model, o, from),
        InConfig = c => c.Adapter, InRun = r => r.Adapter, WithRun = (r, o) => r with { Adapter = o },
        Declared = (o, b) => ($"adapter.bottleneck_size {o.BottleneckSize}", (double)o.BottleneckSize * b.NEmbd),
        Owns = name => name.Contains(".adapter_", StringComparison.Ordinal),
        Flags = [PeftMethodRegistration<AdapterOptions>.Flag("--adapter-size", "Bottleneck width.", o => o.BottleneckSize, (o, v) => o with { BottleneckSize = v })],
    };

    /// <summary>Prefix tuning (<see cref="PrefixTuning"/>): learned keys and values per layer; parameters "prefix_tuning.…".</summary>
    public static readonly PeftMethodRegistration<PrefixOptions> Prefix = new()
    {
        Name = "prefix", Title = "prefix", LearningRate = 1e-2,
        Validate = (o, source) => o.Validate(source),
        ApplyOptions = (model, o, from) => PrefixTuning.Apply(model, o, from),
        InConfig = c => c.Prefix, InRun = r => r.Prefix, WithRun = (r, o) => r with { Prefix = o },
        Declared = (o, b) => ($"prefix.length {o.Length}, prefix.hidden_size {o.HiddenSize}", (double)o.Length * b.HeadDim + (double)o.HiddenSize * b.NEmbd),
        Owns = name => name.StartsWith("prefix_tuning.", StringComparison.Ordinal),
        Flags = [PeftMethodRegistration<PrefixOptions>.Flag("--prefix-length", null, o => o.Length, (o, v) => o with { Length = v })],
    };

    /// <summary>Prompt tuning (<see cref="PromptTuning"/>): a soft prompt before the input; parameters "prompt_tuning.…".</summary>
    public static readonly PeftMethodRegistration<PromptOptions> Prompt = new()
    {
        Name = "prompt", Title = "prompt tuning", LearningRate = 3e-2,
        Validate = (o, source) => o.Validate(source),
        ApplyOptions = (model, o, from) => PromptTuning.Apply(model, o, from),
        InConfig = c => c.Prompt, InRun = r => r.Prompt, WithRun = (r, o) => r with { Prompt = o },
        Declared = (o, b) => ($"prompt.length {o.Length}", (double)o.Length * b.NEmbd),
        Owns = name => name.StartsWith("prompt_tuning.", StringComparison.Ordinal),
        Flags = [PeftMethodRegistration<PromptOptions>.Flag("--prompt-length", null, o => o.Length, (o, v) => o with { Length = v })],
    };

    /// <summary>Every method, in order.</summary>
    public static readonly IReadOnlyList<PeftMethodRegistration> All = [Lora, Adapter, Prefix, Prompt];

    /// <summary>The method named <paramref name="name"/>, or null.</summary>
    public static PeftMethodRegistration? Find(string? name) => All.FirstOrDefault(m => m.Name == name);

    /// <summary>The methods' names joined with ", " (for "supported: …" messages).</summary>
    public static string Names => string.Join(", ", All.Select(m => m.Name));
}
