using SharpLM.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft.Adapter;

/// <summary>
/// Houlsby et al.'s bottleneck adapter: h + up(act(down(h))), with down: d → m and up: m → d. The up-projection
/// starts at zero, so the adapter starts as the identity and the adapted model as the base.
/// </summary>
public sealed class BottleneckAdapter : nn.Module<Tensor, Tensor>
{
    readonly Linear down, up;
    readonly nn.Module<Tensor, Tensor> act;

    /// <summary>An adapter for <paramref name="dim"/>-wide hidden states, on <paramref name="device"/> in
    /// <paramref name="dtype"/> (those of the base's weights).</summary>
    public BottleneckAdapter(int dim, AdapterOptions options, Device device, ScalarType dtype) : base(nameof(BottleneckAdapter))
    {
        down = nn.Linear(dim, options.BottleneckSize, hasBias: true, device: device, dtype: dtype);
        up = nn.Linear(options.BottleneckSize, dim, hasBias: true, device: device, dtype: dtype);
        act = Activations.Create(options.Activation);
        RegisterComponents();
        using var _ = no_grad();
        nn.init.normal_(down.weight!, 0, options.InitStd);
        nn.init.zeros_(down.bias!);
        nn.init.zeros_(up.weight!);
        nn.init.zeros_(up.bias!);
    }

    /// <summary>Adds the adapter's output to <paramref name="h"/>: h + up(act(down(h))), same shape as h.</summary>
    public override Tensor forward(Tensor h) => h + up.forward(act.forward(down.forward(h)));
}
