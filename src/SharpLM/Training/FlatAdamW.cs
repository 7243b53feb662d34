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
    public FlatAdamW(ContiguousParameters parameters, IReadOnlyList<double> weightDecayPerGroup, double beta1, double beta2, double eps,
        IReadOnlyList<double>? learningRateScalePerGroup = null)
    {
        if (weightDecayPerGroup.Count != parameters.Groups.Count) throw new ArgumentException("one weight decay per group");
        if (learningRateScalePerGroup is not null && learningRateScalePerGroup.Count != parameters.Groups.Count) throw new ArgumentException("one learning-rate scale per group");
        this.parameters = parameters;
        weightDecay = weightDecayPerGroup.ToArray();
        learningRateScale = learningRateScalePerGroup?.ToArray() ?? Enumerable.Repeat(1.0, weightDecay.Length).ToArray();
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        expAvg = zeros_like(parameters.Data).DetachFromDisposeScope();
        expAvgSq = zeros_like(parameters.Data).DetachFromDisposeScope();
        denominator = zeros_like(parameters.Data).DetachFromDisposeScope(); // scratch, so a step allocates nothing
    }

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

    /// <summary>One AdamW update of every group from the gradients in <see cref="ContiguousParameters.Grad"/>.</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Steps++;
        double biasCorrection1 = 1 - Math.Pow(Beta1, Steps);
        double biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, Steps));
        for (int g = 0; g < weightDecay.Length; g++)
        {
            var (offset, length) = parameters.Groups[g];
            if (length == 0) continue;
            double lr = LearningRate * learningRateScale[g], stepSize = lr / biasCorrection1;
            Tensor p = parameters.Data.narrow(0, offset, length), grad = parameters.Grad.narrow(0, offset, length);
            Tensor m = expAvg.narrow(0, offset, length), v = expAvgSq.narrow(0, offset, length), denom = denominator.narrow(0, offset, length);
            if (weightDecay[g] != 0) p.mul_(1 - lr * weightDecay[g]);
            m.mul_(Beta1).add_(grad, alpha: 1 - Beta1);
            v.mul_(Beta2).addcmul_(grad, grad, 1 - Beta2);
            denom.copy_(v).sqrt_().div_(biasCorrection2Sqrt).add_(Eps);
            p.addcdiv_(m, denom, -stepSize);
        }
    }

    /// <summary>Writes the step count and both moment buffers (raw little-endian values; no code runs on load).</summary>
    public void Save(BinaryWriter w)
    {
        w.Write("FlatAdamW/1");
        w.Write(Steps);
        WriteTensor(w, expAvg);
        WriteTensor(w, expAvgSq);
    }

    /// <summary>Restores what <see cref="Save"/> wrote into this optimizer, whose buffers must have the same size.</summary>
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

    static void WriteTensor(BinaryWriter w, Tensor t)
    {
        using var f32 = t.to(ScalarType.Float32);
        using var cpu = f32.cpu();
        float[] values = cpu.data<float>().ToArray();
        w.Write(values.LongLength);
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
    }

    static void ReadTensor(BinaryReader r, Tensor into)
    {
        long n = r.ReadInt64();
        if (n != into.numel()) throw new InvalidDataException($"optimizer state holds {n} values, the model {into.numel()}");
        byte[] bytes = r.ReadBytes(checked((int)(n * sizeof(float))));
        if (bytes.Length != n * sizeof(float)) throw new EndOfStreamException("optimizer state is truncated");
        float[] values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        using var host = tensor(values);
        using var _ = no_grad();
        into.copy_(host); // copy_ converts dtype and device

    }

    /// <summary>Frees the moment buffers.</summary>
    public void Dispose()
    {
        expAvg.Dispose();
        expAvgSq.Dispose();
        denominator.Dispose();
    }
}
