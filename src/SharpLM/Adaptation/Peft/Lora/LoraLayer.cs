using SharpLM.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Adaptation.Peft.Lora;

/// <summary>
/// One low-rank update of a Linear layer W (out × in): y = W·x + b + (alpha/r)·B·A·dropout(x), A (r × in) Kaiming
/// uniform, B (rows × r) zero, so a fresh adapter changes nothing. It may cover only a range of W's output rows,
/// which is how q, k and v of the fused c_attn projection get separate adapters. Registered as a child of the
/// layer it adapts (<see cref="ILinearDelta"/>).
/// <para>Merging adds scale·B·A into those rows of W in place and stops the side path; unmerging copies back the
/// rows saved at merge time, so the base returns bit for bit (subtracting the product again would not: float
/// addition is not invertible).</para>
/// </summary>
public sealed class LoraLayer : nn.Module, ILinearDelta
{
    readonly Parameter lora_A, lora_B;
    readonly Dropout? lora_dropout;
    readonly MergeState state;

    /// <summary>What the module must not register as parameters or buffers (it is not its own state).</summary>
    sealed class MergeState
    {
        public required Linear Target;
        public Tensor? SavedRows;
        public bool Disabled;
    }

    /// <summary>A fresh update of <paramref name="rows"/> output rows of <paramref name="target"/> starting at
    /// <paramref name="rowOffset"/>, with A and B on the target weight's device and dtype.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The row range is empty or outside the weight.</exception>
    public LoraLayer(Linear target, long rowOffset, long rows, LoraOptions options) : base(nameof(LoraLayer))
    {
        Parameter weight = target.weight!;
        long inFeatures = weight.shape[1];
        OutFeatures = weight.shape[0];
        if (rowOffset < 0 || rows < 1 || rowOffset + rows > OutFeatures) throw new ArgumentOutOfRangeException(nameof(rows));
        RowOffset = rowOffset;
        Rows = rows;
        Scale = options.Scale;
        lora_A = new Parameter(empty(new long[] { options.Rank, inFeatures }, weight.dtype, weight.device).DetachFromDisposeScope());
        lora_B = new Parameter(zeros(new long[] { rows, options.Rank }, weight.dtype, weight.device).DetachFromDisposeScope());
        using (no_grad()) nn.init.kaiming_uniform_(lora_A, a: Math.Sqrt(5)); // nn.Linear's default, as the reference implementation
        if (options.Dropout > 0) lora_dropout = nn.Dropout(options.Dropout);
        RegisterComponents();
        state = new MergeState { Target = target };
    }

    /// <summary>The parameter name of B (the zero-initialised factor).</summary>
    public const string BName = nameof(lora_B);

    /// <summary>The first output row of W the update covers.</summary>
    public long RowOffset { get; }
    /// <summary>Number of output rows covered (B's first dimension).</summary>
    public long Rows { get; }
    /// <summary>Output rows of the whole adapted layer W.</summary>
    public long OutFeatures { get; }
    /// <summary>alpha / r, the factor the update B·A is multiplied by.</summary>
    public double Scale { get; }
    /// <summary>Whether the update is currently folded into W (the side path is then off).</summary>
    public bool Merged => state.SavedRows is not null;

    /// <summary>Whether the side path is switched off, so the layer computes the base alone (PEFT's disable_adapter):
    /// how alignment gets the frozen reference model from the policy's own weights.</summary>
    public bool Disabled
    {
        get => state.Disabled;
        internal set => state.Disabled = value;
    }

    internal Parameter A => lora_A;
    internal Parameter B => lora_B;

    /// <summary>
    /// <paramref name="output"/> plus scale·B·A·dropout(<paramref name="input"/>) in the covered rows (zero in the
    /// others); unchanged when merged or disabled.
    /// </summary>
    public Tensor Apply(Tensor input, Tensor output)
    {
        if (Merged || state.Disabled) return output;
        Tensor x = lora_dropout is null ? input : lora_dropout.forward(input);
        Tensor delta = F.linear(F.linear(x, lora_A), lora_B) * Scale;
        if (Rows == OutFeatures) return output + delta;
        return output + F.pad(delta, new long[] { RowOffset, OutFeatures - RowOffset - Rows });
    }

    /// <summary>scale·B·A: the update to the covered rows of W.</summary>
    public Tensor DeltaWeight() => matmul(lora_B, lora_A) * Scale;

    internal void Merge()
    {
        if (Merged) return;
        using var _ = no_grad();
        Tensor rows = state.Target.weight!.narrow(0, RowOffset, Rows);
        state.SavedRows = rows.clone().DetachFromDisposeScope();
        using var delta = DeltaWeight();
        rows.add_(delta.to(rows.dtype));
    }

    internal void Unmerge()
    {
        if (state.SavedRows is not { } saved) return;
        using var _ = no_grad();
        state.Target.weight!.narrow(0, RowOffset, Rows).copy_(saved);
        saved.Dispose();
        state.SavedRows = null;
    }
}
