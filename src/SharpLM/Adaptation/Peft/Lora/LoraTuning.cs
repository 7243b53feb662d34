using SharpLM.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft.Lora;

/// <summary>
/// LoRA (Hu et al. 2021) applied to a <see cref="Gpt"/>: a <see cref="LoraLayer"/> on every Linear layer (or
/// q/k/v row range) the options' target patterns choose. The model starts identical to the base (B = 0). After
/// training, <see cref="Merge"/> folds the updates into the base weights (no inference cost), <see cref="Unmerge"/>
/// restores them bit for bit, and <see cref="ExportMerged"/> builds a plain model with merged weights for
/// `sharplm lora merge` (save it with <see cref="Checkpoints.Checkpoint.Save"/>).
/// </summary>
public sealed class LoraTuning : PeftMethod
{
    readonly List<(string Path, LoraLayer Layer)> layers = new();

    LoraTuning(Gpt model, LoraOptions options, IReadOnlyList<LoraTargets.Target> targets, string? baseCheckpoint) : base(model, baseCheckpoint)
    {
        Options = options;
        foreach (var target in targets)
        {
            var layer = new LoraLayer(target.Layer, target.RowOffset, target.Rows, options);
            target.Layer.register_module(target.ChildName, layer);
            layers.Add((target.Path, layer));
        }
        layers.ForEach(l => l.Layer.train(model.training));
    }

    /// <summary>Adds LoRA to <paramref name="model"/> (freezing its weights) and returns the method.</summary>
    public static LoraTuning Apply(Gpt model, LoraOptions options, string? baseCheckpoint = null) =>
        new(model, options.Validate(), LoraTargets.Select(model, options.TargetModules), baseCheckpoint); // targets checked before freezing

    /// <inheritdoc/>
    public override string Method => PeftMethods.Lora.Name;

    /// <summary>LoRA+: every B matrix steps <see cref="LoraOptions.LoraPlusLrRatio"/> times faster than the A matrices.</summary>
    public override double LearningRateScale(string parameterName) =>
        parameterName.EndsWith("." + LoraLayer.BName, StringComparison.Ordinal) ? Options.LoraPlusLrRatio : 1;

    /// <summary>The options LoRA was applied with, saved in adapter_config.json.</summary>
    public LoraOptions Options { get; }

    /// <summary>The adapted paths, in model order ("h.0.attn.c_attn", "h.0.attn.q", …).</summary>
    public IReadOnlyList<string> TargetPaths => layers.Select(l => l.Path).ToList();

    /// <summary>The LoRA layers, in the order of <see cref="TargetPaths"/>.</summary>
    public IReadOnlyList<LoraLayer> Layers => layers.Select(l => l.Layer).ToList();

    /// <summary>Whether the updates are folded into the base weights (<see cref="Merge"/>).</summary>
    public bool IsMerged => layers.Count > 0 && layers[0].Layer.Merged;

    /// <summary>W += (alpha/r)·B·A for every adapted layer; the side paths stop. Idempotent.</summary>
    public void Merge() => layers.ForEach(l => l.Layer.Merge());

    /// <summary>Restores the base weights saved at <see cref="Merge"/>, bit for bit; the side paths resume. Idempotent.</summary>
    public void Unmerge()
    {
        // Reverse order: q/k/v ranges of one c_attn are disjoint, but restoring in reverse is right even if not.
        for (int i = layers.Count - 1; i >= 0; i--) layers[i].Layer.Unmerge();
    }

    /// <summary>
    /// Switches every update off until the returned scope is disposed, so the model computes exactly the base (PEFT's
    /// <c>disable_adapter()</c>): a policy's frozen reference without a second copy of the weights.
    /// </summary>
    /// <exception cref="InvalidOperationException">The updates are merged into the weights, which then are not the base.</exception>
    public IDisposable DisableAdapters()
    {
        if (IsMerged) throw new InvalidOperationException("unmerge LoRA before disabling it: merged weights are not the base");
        layers.ForEach(l => l.Layer.Disabled = true);
        return new Scope(() => layers.ForEach(l => l.Layer.Disabled = false));
    }

    sealed class Scope(Action onDispose) : IDisposable
    {
        public void Dispose() => onDispose();
    }

    /// <summary>
    /// A new plain model of the same architecture (a <see cref="Gpt"/> or <see cref="Modeling.Architectures.PrefixDecoder"/>)
    /// whose weights are the base plus every merged update, on the model's device and dtype; this model is left as
    /// it was (merged or not).
    /// </summary>
    public Gpt ExportMerged()
    {
        bool wasMerged = IsMerged;
        Merge();
        try
        {
            Parameter first = Model.parameters().First();
            var merged = (Gpt)LanguageModel.Create(Model.Config);
            merged.to(first.device).to(first.dtype);
            var source = Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            using var _ = no_grad();
            foreach (var (name, p) in merged.named_parameters()) p.copy_(source[name]);
            merged.train(Model.training);
            return merged;
        }
        finally
        {
            if (!wasMerged) Unmerge();
        }
    }

    /// <inheritdoc/>
    protected override PeftConfig Describe(PeftConfig common) => common with { Lora = Options };

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The updates are merged: unmerge before saving.</exception>
    protected override IReadOnlyList<(string Name, Tensor Value)> TensorsToSave()
    {
        if (IsMerged) throw new InvalidOperationException("unmerge LoRA before saving the adapter (merged weights would make the base hash meaningless)");
        return base.TensorsToSave();
    }
}
