using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Modeling;

/// <summary>
/// A Linear layer's weight stored in fewer bits, for inference: registered as the layer's child module "quant" (so its
/// buffers are named after the layer, "h.0.attn.c_attn.quant.qweight"), while the layer keeps its place and bias and
/// its float weight is dropped. <see cref="LinearDeltas.Forward"/> computes through it: the weight is dequantised into
/// the activations' dtype for each product, so the memory saved is the stored weights', and activations stay in float.
/// One base for every scheme (<see cref="Quantization.Schemes"/>), so attaching, saving, loading and the forward pass
/// are written once.
/// </summary>
public abstract class QuantizedWeights : nn.Module
{
    /// <summary>The child-module name under the Linear layer it replaces.</summary>
    public const string ModuleName = "quant";

    /// <summary>The layer's input width (the dequantised weight's columns).</summary>
    public long InFeatures { get; }
    /// <summary>The layer's output width (the dequantised weight's rows).</summary>
    public long OutFeatures { get; }
    /// <summary>The scheme and its parameters.</summary>
    public QuantizationSpec Spec { get; }

    /// <summary>Storage for an [<paramref name="outFeatures"/>, <paramref name="inFeatures"/>] weight quantised as <paramref name="spec"/> says.</summary>
    protected QuantizedWeights(string name, long outFeatures, long inFeatures, QuantizationSpec spec) : base(name)
    {
        OutFeatures = outFeatures;
        InFeatures = inFeatures;
        Spec = spec;
    }

    /// <summary>The weight [out, in] in <paramref name="dtype"/>, rebuilt from the stored values.</summary>
    public abstract Tensor Dequantize(ScalarType dtype);

    /// <summary>
    /// Checks the stored values after they are read from a file (scales finite and positive, and the like);
    /// <paramref name="file"/> and <paramref name="prefix"/> (the layer's name) go into the message.
    /// </summary>
    /// <exception cref="InvalidInputException">A value no quantiser writes.</exception>
    internal abstract void Validate(string file, string prefix);

    /// <summary>The layer's output for <paramref name="x"/> through the stored weight (and the layer's own bias).</summary>
    internal Tensor Forward(Tensor x, Tensor? bias)
    {
        using var w = Dequantize(x.dtype);
        return F.linear(x, w, bias);
    }

    /// <summary>Bytes the stored weight takes (its buffers: packed values, scales, offsets).</summary>
    public long Bytes => buffers().Sum(b => b.numel() * b.ElementSize);

    /// <summary>Throws naming <paramref name="file"/> and the buffer unless every element of it is finite (and positive, when asked).</summary>
    protected static void RequireFinite(string file, string name, Tensor values, bool positive)
    {
        using var scope = NewDisposeScope();
        bool ok = values.isfinite().all().item<bool>() && (!positive || values.gt(0).all().item<bool>());
        if (!ok) throw InvalidInputException.ForFile(file, $"tensor '{name}' holds {(positive ? "a non-positive or non-finite" : "a non-finite")} value: the file is corrupt");
    }
}

/// <summary>A quantisation scheme with its parameters, as checkpoint.json and the command line name it.</summary>
/// <param name="Scheme">A name in <see cref="Quantization.Schemes"/>: "int8" or "int4".</param>
/// <param name="GroupSize">Input columns that share a scale (grouped schemes); 0 for per-channel schemes.</param>
public sealed record QuantizationSpec(string Scheme, int GroupSize = 0)
{
    /// <summary>
    /// "int8", "int4" (its default group size) or "int4:G" (group size G), as <c>--quantize</c> takes it; null for "none".
    /// </summary>
    /// <exception cref="InvalidInputException">An unknown scheme or a bad group size; <paramref name="field"/> names the option.</exception>
    public static QuantizationSpec? Parse(string text, string field)
    {
        if (text == "none") return null;
        string[] parts = text.Split(':');
        int? group = null;
        if (parts.Length > 2 || (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int g)))
            throw new InvalidInputException($"{field} '{text}': expected none, {Quantization.Names} or int4:GROUP_SIZE");
        else if (parts.Length == 2) group = int.Parse(parts[1], CultureInfo.InvariantCulture);
        return Quantization.Spec(parts[0], group, field);
    }

    /// <summary>"int8", or "int4 (group 32)".</summary>
    public override string ToString() => GroupSize > 0 ? $"{Scheme} (group {GroupSize})" : Scheme;
}

/// <summary>A quantisation scheme: how a float weight becomes stored values, and an empty module of the stored shape for loading.</summary>
/// <param name="Name">The name flags and files use.</param>
/// <param name="Description">One line for help texts and tables.</param>
/// <param name="DefaultGroupSize">Group size used when none is given; 0 when the scheme has no groups.</param>
/// <param name="FromWeight">Quantises a float weight [out, in].</param>
/// <param name="Empty">A module of the stored shapes for an [out, in] layer, to be filled from a file.</param>
public sealed record QuantizationScheme(
    string Name, string Description, int DefaultGroupSize,
    Func<Tensor, QuantizationSpec, QuantizedWeights> FromWeight,
    Func<long, long, QuantizationSpec, QuantizedWeights> Empty);

/// <summary>
/// The registry of quantisation schemes and the one routine that applies them to a decoder: every Linear layer
/// (attention, MLP, an untied output head) gets a <see cref="QuantizedWeights"/> child; embeddings and norms stay
/// float (they are looked up or tiny, and a tied output head reads the embedding).
/// </summary>
public static class Quantization
{
    /// <summary>Every scheme, in the order help texts list them.</summary>
    public static readonly IReadOnlyList<QuantizationScheme> Schemes =
    [
        new("int8", "per-output-channel absmax int8 (1 byte per weight)", 0, (w, s) => new Int8Weights(w, s), (o, i, s) => new Int8Weights(o, i, s)),
        new("int4", "group-wise asymmetric int4, two per byte, float32 scale and offset per group", Int4Weights.DefaultGroupSize,
            (w, s) => new Int4Weights(w, s), (o, i, s) => new Int4Weights(o, i, s)),
    ];

    /// <summary>The scheme names, "int8, int4", for messages.</summary>
    public static string Names => string.Join(", ", Schemes.Select(s => s.Name));

    /// <summary>The scheme called <paramref name="name"/>.</summary>
    /// <exception cref="InvalidInputException">No such scheme; <paramref name="field"/> names where the name came from.</exception>
    public static QuantizationScheme Find(string name, string field) =>
        Schemes.FirstOrDefault(s => s.Name == name) ?? throw new InvalidInputException($"{field} '{name}': expected one of {Names}");

    /// <summary>A checked spec: a known scheme, and a group size only where the scheme has groups (even, at least 2).</summary>
    /// <exception cref="InvalidInputException">The scheme or group size is not usable; the message names <paramref name="field"/>.</exception>
    public static QuantizationSpec Spec(string scheme, int? groupSize, string field)
    {
        var s = Find(scheme, field);
        if (s.DefaultGroupSize == 0)
            return groupSize is null or 0 ? new(s.Name) : throw new InvalidInputException($"{field}: {s.Name} has no groups (one scale per output channel); drop the group size");
        int g = groupSize ?? s.DefaultGroupSize;
        // Two values share a byte, so a group must fill whole bytes.
        if (g < 2 || g % 2 != 0) throw new InvalidInputException($"{field}: group size {g} must be an even number of at least 2");
        return new(s.Name, g);
    }

    /// <summary>
    /// Quantises every Linear layer of <paramref name="model"/> in place as <paramref name="spec"/> says, freeing their
    /// float weights, and puts the model in eval mode. Returns the bytes of all parameters and buffers before and after.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is already quantised, or carries an adapter.</exception>
    public static (long Before, long After) Quantize(Gpt model, QuantizationSpec spec)
    {
        var scheme = Find(spec.Scheme, "scheme");
        long before = ModelBytes(model);
        using (no_grad()) Attach(model, linear => scheme.FromWeight(linear.weight!, spec));
        return (before, ModelBytes(model));
    }

    /// <summary>Attaches empty modules of <paramref name="spec"/>'s stored shapes to every Linear layer: a quantised checkpoint is read into them.</summary>
    internal static void Prepare(Gpt model, QuantizationSpec spec)
    {
        var scheme = Find(spec.Scheme, "scheme");
        Attach(model, linear => scheme.Empty(linear.weight!.shape[0], linear.weight.shape[1], spec));
    }

    static void Attach(Gpt model, Func<Linear, QuantizedWeights> make)
    {
        if (Of(model) is { } existing) throw new InvalidOperationException($"the model is already quantised ({existing})");
        if (model.modules().Any(m => m is ILinearDelta)) throw new InvalidOperationException("merge or drop the adapter before quantising (its deltas read the float weight)");
        foreach (var linear in model.modules().OfType<Linear>().ToList())
        {
            var q = make(linear);
            q.to(linear.weight!.device);
            linear.register_module(QuantizedWeights.ModuleName, q);
            // Drop the float weight: the layer keeps a 0-element placeholder, and forward goes through the stored copy.
            var old = linear.weight;
            linear.weight = new Parameter(empty(0, dtype: old.dtype, device: old.device), requires_grad: false);
            old.Dispose();
        }
        model.eval();
    }

    /// <summary>The spec <paramref name="model"/> is quantised with, or null for a float model.</summary>
    public static QuantizationSpec? Of(LanguageModel model) => model.modules().OfType<QuantizedWeights>().FirstOrDefault()?.Spec;

    /// <summary>Bytes of every parameter and buffer of <paramref name="model"/>.</summary>
    public static long ModelBytes(LanguageModel model) =>
        model.parameters().Sum(p => p.numel() * p.ElementSize) + model.buffers().Sum(b => b.numel() * b.ElementSize);

    /// <summary>Bytes of the Linear layers' weights alone (what quantisation shrinks): stored values for a quantised layer, the float weight otherwise.</summary>
    public static long LinearWeightBytes(LanguageModel model) => model.modules().OfType<Linear>().Sum(linear =>
        linear.children().OfType<QuantizedWeights>().FirstOrDefault() is { } q ? q.Bytes : linear.weight!.numel() * linear.weight.ElementSize);
}
