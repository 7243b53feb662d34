using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Training;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter) over <see cref="ContiguousParameters"/>: one fused update per parameter group
/// instead of a dozen small ops per parameter. The arithmetic is PyTorch's single-tensor AdamW (decoupled decay,
/// then the moments, then the bias-corrected step; the first moment as mul+add, as PyTorch 1.x writes it).
/// </summary>
public sealed class FlatAdamW : IDisposable, Checkpoints.IOptimizerState
{
    readonly ContiguousParameters parameters;
    readonly double[] weightDecay, learningRateScale;
    readonly Tensor expAvg, expAvgSq, denominator;

    /// <param name="parameters">The parameters and gradients, in groups.</param>
    /// <param name="weightDecayPerGroup">Decoupled weight decay of each group (typically 0 for the group of biases,
    /// norms and embeddings).</param>
    /// <param name="beta1">First-moment decay rate.</param>
    /// <param name="beta2">Second-moment decay rate.</param>
    /// <param name="eps">Added to the denominator.</param>
    /// <param name="learningRateScalePerGroup">Each group's learning rate as a multiple of <see cref="LearningRate"/>
    /// (LoRA+ steps B faster than A); all 1 when null.</param>
    /// <param name="shard">The values of the flat buffer this optimizer owns (ZeRO); all of them when null.</param>
    public FlatAdamW(ContiguousParameters parameters, IReadOnlyList<double> weightDecayPerGroup, double beta1, double beta2, double eps,
        IReadOnlyList<double>? learningRateScalePerGroup = null, (long Start, long Length)? shard = null)
    {
        if (weightDecayPerGroup.Count != parameters.Groups.Count) throw new ArgumentException("one weight decay per group");
        if (learningRateScalePerGroup is not null && learningRateScalePerGroup.Count != parameters.Groups.Count) throw new ArgumentException("one learning-rate scale per group");
        this.parameters = parameters;
        weightDecay = weightDecayPerGroup.ToArray();
        learningRateScale = learningRateScalePerGroup?.ToArray() ?? Enumerable.Repeat(1.0, weightDecay.Length).ToArray();
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        Shard = shard ?? (0, parameters.Data.numel());
        if (Shard.Start < 0 || Shard.Length <= 0 || Shard.Start + Shard.Length > parameters.Data.numel()) throw new ArgumentException($"shard {Shard} outside the {parameters.Data.numel()} values");
        var data = parameters.Data;
        expAvg = zeros(Shard.Length, data.dtype, data.device).DetachFromDisposeScope();
        expAvgSq = zeros(Shard.Length, data.dtype, data.device).DetachFromDisposeScope();
        denominator = zeros(Shard.Length, data.dtype, data.device).DetachFromDisposeScope(); // scratch, so a step allocates nothing
    }

    /// <summary>The values of the flat parameter buffer this optimizer updates and keeps moments for.</summary>
    public (long Start, long Length) Shard { get; }

    /// <summary>Bytes of optimizer state this process holds (both moments; not the step's scratch buffer).</summary>
    public long StateBytes => 2 * Shard.Length * expAvg.element_size();

    /// <summary>Decay rate of the first moment (running mean of the gradient), e.g. 0.9.</summary>
    public double Beta1 { get; }
    /// <summary>Decay rate of the second moment (running mean of the squared gradient), e.g. 0.99.</summary>
    public double Beta2 { get; }
    /// <summary>Added to the bias-corrected root of the second moment, so the step never divides by zero.</summary>
    public double Eps { get; }
    /// <summary>The base learning rate of the next <see cref="Step"/> (each group's scale multiplies it); set it every
    /// step from the schedule.</summary>
    public double LearningRate { get; set; } = 1e-3;
    /// <summary>Updates taken so far (for bias correction).</summary>
    public long Steps { get; private set; }

    /// <summary>One AdamW update of every group (within <see cref="Shard"/>) from the gradients.</summary>
    /// <param name="shardGradient">The shard's gradient when it lives apart from <see cref="ContiguousParameters.Grad"/>
    /// (ZeRO-2 reduce-scatters into its own buffer), <see cref="Shard"/>.Length values; null to read the flat buffer.</param>
    public void Step(Tensor? shardGradient = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Steps++;
        double biasCorrection1 = 1 - Math.Pow(Beta1, Steps);
        double biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, Steps));
        var (shardStart, shardLength) = Shard;
        for (int g = 0; g < weightDecay.Length; g++)
        {
            // The part of the group inside the shard (all of it without ZeRO).
            long from = Math.Max(parameters.Groups[g].Offset, shardStart);
            long to = Math.Min(parameters.Groups[g].Offset + parameters.Groups[g].Length, shardStart + shardLength);
            if (to <= from) continue;
            long length = to - from, local = from - shardStart;
            double lr = LearningRate * learningRateScale[g], stepSize = lr / biasCorrection1;
            Tensor p = parameters.Data.narrow(0, from, length);
            Tensor grad = shardGradient is null ? parameters.Grad.narrow(0, from, length) : shardGradient.narrow(0, local, length);
            Tensor m = expAvg.narrow(0, local, length), v = expAvgSq.narrow(0, local, length), denom = denominator.narrow(0, local, length);
            if (weightDecay[g] != 0) p.mul_(1 - lr * weightDecay[g]);
            m.mul_(Beta1).add_(grad, alpha: 1 - Beta1);
            v.mul_(Beta2).addcmul_(grad, grad, 1 - Beta2);
            denom.copy_(v).sqrt_().div_(biasCorrection2Sqrt).add_(Eps);
            p.addcdiv_(m, denom, -stepSize);
        }
    }

    bool Sharded => Shard.Length != parameters.Data.numel();

    /// <summary>Writes the step count and both moment buffers (raw little-endian values; no code runs on load). Only the
    /// groups' values are written, not the alignment padding, so the format does not depend on the layout.</summary>
    /// <exception cref="InvalidOperationException">A ZeRO shard: save <see cref="Gathered"/> instead.</exception>
    public void Save(BinaryWriter w)
    {
        if (Sharded) throw new InvalidOperationException("a ZeRO shard holds part of the state: save Gathered(...)");
        Write(w, Steps, expAvg, expAvgSq, parameters.Groups);
    }

    /// <summary>
    /// The whole state, for a checkpoint, from every rank's shard: <paramref name="allGather"/> turns this rank's
    /// shard of a moment into the full buffer (a collective: every rank must call this).
    /// </summary>
    public Checkpoints.IOptimizerState Gathered(Func<Tensor, Tensor> allGather) =>
        new GatheredState(Steps, allGather(expAvg), allGather(expAvgSq), parameters.Groups);

    sealed class GatheredState(long steps, Tensor expAvg, Tensor expAvgSq, IReadOnlyList<(long Offset, long Length)> groups) : Checkpoints.IOptimizerState
    {
        public void Save(BinaryWriter w) => Write(w, steps, expAvg, expAvgSq, groups);
        public void Load(BinaryReader r) => throw new NotSupportedException("gathered state is written, not read");
    }

    static void Write(BinaryWriter w, long steps, Tensor m, Tensor v, IReadOnlyList<(long Offset, long Length)> groups)
    {
        w.Write("FlatAdamW/1");
        w.Write(steps);
        WriteTensor(w, m, groups);
        WriteTensor(w, v, groups);
    }

    /// <summary>Restores what <see cref="Save"/> wrote (from any world size) into this optimizer's shard.</summary>
    /// <exception cref="InvalidDataException">Not FlatAdamW state, or state for a different number of values.</exception>
    /// <exception cref="EndOfStreamException">The state is truncated.</exception>
    public void Load(BinaryReader r)
    {
        string tag = r.ReadString();
        if (tag != "FlatAdamW/1") throw new InvalidDataException($"not FlatAdamW state (found '{tag}')");
        Steps = r.ReadInt64();
        ReadTensor(r, expAvg);
        ReadTensor(r, expAvgSq);
    }

    static void WriteTensor(BinaryWriter w, Tensor t, IReadOnlyList<(long Offset, long Length)> groups)
    {
        using var scope = NewDisposeScope();
        Tensor values = cat(groups.Select(g => t.narrow(0, g.Offset, g.Length)).ToList(), 0).to(ScalarType.Float32).cpu();
        float[] host = values.data<float>().ToArray();
        w.Write(host.LongLength);
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(host.AsSpan()));
    }

    void ReadTensor(BinaryReader r, Tensor into)
    {
        long n = r.ReadInt64();
        long expected = parameters.Count;
        if (n != expected) throw new InvalidDataException($"optimizer state holds {n} values, the model {expected}");
        byte[] bytes = r.ReadBytes(checked((int)(n * sizeof(float))));
        if (bytes.Length != n * sizeof(float)) throw new EndOfStreamException("optimizer state is truncated");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Tensor host = tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray());
        var full = zeros(parameters.Data.numel(), ScalarType.Float32); // the flat layout, alignment zeros included
        long at = 0;
        foreach (var (offset, length) in parameters.Groups)
        {
            full.narrow(0, offset, length).copy_(host.narrow(0, at, length));
            at += length;
        }
        into.copy_(full.narrow(0, Shard.Start, Shard.Length)); // copy_ converts dtype and device
    }

    /// <summary>Frees the moment buffers.</summary>
    public void Dispose()
    {
        expAvg.Dispose();
        expAvgSq.Dispose();
        denominator.Dispose();
    }
}
