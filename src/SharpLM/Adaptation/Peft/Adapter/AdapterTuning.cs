using SharpLM.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft.Adapter;

/// <summary>
/// Adapter tuning (Houlsby et al. 2019) applied to a <see cref="Gpt"/>: a <see cref="BottleneckAdapter"/> on the
/// output of the attention sublayer and one on the output of the feed-forward sublayer of every block, before the
/// residual addition (and before the post-norm of post-/sandwich-norm blocks). Registered in each block as
/// "adapter_attn" and "adapter_mlp". Houlsby et al. also train the layer norms; here they stay frozen, so the
/// base is untouched and an adapter loads onto any copy of it.
/// </summary>
public sealed class AdapterTuning : PeftMethod
{
    AdapterTuning(Gpt model, AdapterOptions options, string? baseCheckpoint) : base(model, baseCheckpoint)
    {
        Options = options;
        Parameter first = model.parameters().First();
        foreach (var block in model.Blocks)
        {
            var attention = new BottleneckAdapter(model.Config.NEmbd, options, first.device, first.dtype);
            var feedForward = new BottleneckAdapter(model.Config.NEmbd, options, first.device, first.dtype);
            attention.train(model.training);
            feedForward.train(model.training);
            block.AttachSublayerAdapters(attention, feedForward);
        }
    }

    /// <summary>Adds adapters to every block of <paramref name="model"/> (freezing its weights) and returns the method.</summary>
    public static AdapterTuning Apply(Gpt model, AdapterOptions options, string? baseCheckpoint = null) =>
        new(model, options.Validate(), baseCheckpoint);

    /// <inheritdoc/>
    public override string Method => PeftMethods.Adapter.Name;

    /// <summary>The options the adapters were built with, saved in adapter_config.json.</summary>
    public AdapterOptions Options { get; }

    /// <inheritdoc/>
    protected override PeftConfig Describe(PeftConfig common) => common with { Adapter = Options };
}
