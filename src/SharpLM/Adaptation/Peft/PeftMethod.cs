using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft;

/// <summary>
/// A parameter-efficient fine-tuning method applied to a <see cref="Gpt"/> (survey §5.3; Hugging Face PEFT's
/// tuners). Applying one freezes every base weight (requires_grad = false: no gradient, and no optimizer state,
/// since <see cref="Training.WeightDecayGroups"/> skips them) and adds the method's own small modules into the
/// model itself, so the model stays a <see cref="LanguageModel"/>: the trainer, <see cref="Inference.Generator"/>,
/// the KV cache and scoring use it unchanged. The method's parameters are the model's parameters that were not
/// there before (<see cref="TrainableParameters"/>). One method per model instance.
/// </summary>
public abstract class PeftMethod
{
    readonly HashSet<string> baseNames;

    /// <summary>Records the hash of the base weights and freezes all of them; the subclass then adds its own
    /// modules.</summary>
    /// <param name="model">The base model, adapted in place.</param>
    /// <param name="baseCheckpoint">Where the base came from, for messages; null when unknown.</param>
    /// <exception cref="InvalidOperationException"><paramref name="model"/> already has a method applied.</exception>
    protected PeftMethod(Gpt model, string? baseCheckpoint)
    {
        BaseSha256 = BaseWeights.Sha256(model); // also refuses a model that already has a method applied
        Model = model;
        BaseCheckpoint = baseCheckpoint;
        baseNames = model.named_parameters().Select(p => p.name).ToHashSet();
        foreach (var p in model.parameters()) p.requires_grad = false;
    }

    /// <summary>The adapted model: the base with the method's modules inside it.</summary>
    public Gpt Model { get; }

    /// <summary>A trainable parameter's learning rate as a multiple of the run's, by name; 1 unless a method says otherwise.</summary>
    public virtual double LearningRateScale(string parameterName) => 1;

    /// <summary>The method's name in <see cref="PeftMethods"/> (the method field of adapter_config.json).</summary>
    public abstract string Method { get; }

    /// <summary>SHA-256 of the base weights as they were when the method was applied (<see cref="BaseWeights"/>).</summary>
    public string BaseSha256 { get; }

    /// <summary>Where the base came from, if the caller said (recorded in adapter_config.json for messages).</summary>
    public string? BaseCheckpoint { get; }

    /// <summary>The method's own parameters, named as in the model ("h.0.attn.c_attn.lora.lora_A"), in model order.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> TrainableParameters =>
        Model.named_parameters().Where(p => !baseNames.Contains(p.name)).Select(p => (p.name, p.parameter)).ToList();

    /// <summary>The base model's parameters (all frozen).</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> BaseParameters =>
        Model.named_parameters().Where(p => baseNames.Contains(p.name)).Select(p => (p.name, p.parameter)).ToList();

    /// <summary>Number of values in <see cref="TrainableParameters"/>.</summary>
    public long TrainableParameterCount => TrainableParameters.Sum(p => p.Parameter.numel());

    /// <summary>Every parameter of the adapted model: base plus method.</summary>
    public long TotalParameterCount => Model.ParameterCount;

    /// <summary>Trainable share of all parameters, in percent.</summary>
    public double TrainablePercent => 100.0 * TrainableParameterCount / TotalParameterCount;

    /// <summary>Hugging Face PEFT's print_trainable_parameters line.</summary>
    public string Summary => $"trainable params: {TrainableParameterCount:N0} || all params: {TotalParameterCount:N0} || trainable%: {TrainablePercent:F4}";

    /// <summary>True when <paramref name="model"/> holds parameters of any registered method
    /// (<see cref="PeftMethodRegistration.OwnsParameter"/>); its base hash is then undefined.</summary>
    public static bool IsAdapted(Gpt model) => model.named_parameters().Any(p => PeftMethods.All.Any(m => m.OwnsParameter(p.name)));

    /// <summary>This method's options block of adapter_config.json (weights file fields are filled by the save).</summary>
    protected abstract PeftConfig Describe(PeftConfig common);

    /// <summary>What adapter_model.bin holds: the trainable parameters unless a method saves a collapsed form.</summary>
    protected virtual IReadOnlyList<(string Name, Tensor Value)> TensorsToSave() =>
        TrainableParameters.Select(p => (p.Name, (Tensor)p.Parameter)).ToList();

    /// <summary>Tensors to load a saved adapter into, by the names <see cref="TensorsToSave"/> wrote.</summary>
    protected virtual IReadOnlyList<(string Name, Tensor Value)> TensorsToLoad() => TensorsToSave();

    /// <summary>Writes adapter_config.json and adapter_model.bin into <paramref name="dir"/> (see <see cref="AdapterDirectory"/>).</summary>
    public void Save(string dir)
    {
        var tensors = TensorsToSave();
        var common = new PeftConfig
        {
            Method = Method, BaseSha256 = BaseSha256, BaseCheckpoint = BaseCheckpoint, BaseModel = Model.Config,
            WeightsFile = AdapterDirectory.WeightsFile, WeightsSha256 = "", TrainableParameters = tensors.Sum(t => t.Value.numel()),
        };
        AdapterDirectory.Save(dir, Describe(common), tensors);
    }

    /// <summary>
    /// Applies the adapter saved in <paramref name="dir"/> to <paramref name="model"/>, which must be the base it
    /// was trained on (same config and weights hash; otherwise a one-line <see cref="InvalidInputException"/>
    /// names both hashes). <paramref name="baseCheckpoint"/> is where the model came from, for that message.
    /// A Hugging Face PEFT LoRA folder (its adapter_config.json has "peft_type") loads too, over a base of a Hugging
    /// Face family (<see cref="HfPeftLora"/>); it records no base hash, so only the shapes are checked.
    /// </summary>
    public static PeftMethod Load(string dir, Gpt model, string? baseCheckpoint = null)
    {
        if (HfPeftLora.IsPeftFolder(dir)) return HfPeftLora.Load(dir, model, baseCheckpoint);
        var config = AdapterDirectory.ReadConfig(dir);
        AdapterDirectory.CheckBase(dir, config, model, baseCheckpoint);
        PeftMethod method = PeftMethods.Find(config.Method)!.Apply(model, config, baseCheckpoint); // ReadConfig refused unknown methods
        AdapterDirectory.LoadWeights(dir, config, method.TensorsToLoad());
        return method;
    }
}
