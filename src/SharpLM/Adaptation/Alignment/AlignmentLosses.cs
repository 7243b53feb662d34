using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpLM.Adaptation.Alignment;

/// <summary>The DPO family's objectives (<see cref="AlignmentLosses.Dpo"/>), as TRL's <c>loss_type</c> names them.</summary>
public static class DpoLossTypes
{
    /// <summary>DPO (Rafailov et al. 2023): −log σ(β·((π_c − π_r) − (ref_c − ref_r))), with optional label smoothing (cDPO).</summary>
    public const string Sigmoid = "sigmoid";
    /// <summary>IPO (Azar et al. 2023): ((π_c − π_r) − (ref_c − ref_r) − 1/(2β))² on length-averaged log-probs.</summary>
    public const string Ipo = "ipo";
    /// <summary>SLiC's hinge (Zhao et al. 2023): max(0, 1 − β·((π_c − π_r) − (ref_c − ref_r))).</summary>
    public const string Hinge = "hinge";
    /// <summary>SimPO (Meng et al. 2024): −log σ(β·(π̄_c − π̄_r) − γ), length-averaged, no reference model.</summary>
    public const string SimPo = "simpo";

    /// <summary>Every supported loss type.</summary>
    public static readonly IReadOnlyList<string> All = [Sigmoid, Ipo, Hinge, SimPo];

    /// <summary>Whether the loss reads length-averaged log-probs (TRL divides by the reply's token count for these).</summary>
    public static bool AveragesLogProbs(string lossType) => lossType is Ipo or SimPo;

    /// <summary>Whether the loss needs the reference model's log-probs.</summary>
    public static bool NeedsReference(string lossType) => lossType != SimPo;
}

/// <summary>What <see cref="AlignmentLosses.Dpo"/> returns: per-pair losses and TRL's implicit rewards.</summary>
/// <param name="Losses">Per-pair loss [B]; the trainer minimises its mean.</param>
/// <param name="ChosenRewards">β·(π_c − ref_c) [B] (β·π̄_c for SimPO), detached.</param>
/// <param name="RejectedRewards">β·(π_r − ref_r) [B] (β·π̄_r for SimPO), detached.</param>
public sealed record DpoLossOutput(Tensor Losses, Tensor ChosenRewards, Tensor RejectedRewards);

/// <summary>
/// The objectives of alignment tuning, each a transcription of the formula in TRL (the tests compare every one with
/// PyTorch on fixed tensors to 1e-6): the reward model's Bradley–Terry loss, the DPO family, the per-token KL penalty,
/// generalised advantage estimation, masked whitening, PPO's clipped policy and value losses, the adaptive KL
/// controller, and GRPO's group-normalised advantages and loss. Masks are float tensors of 0 and 1 over reply tokens.
/// </summary>
public static class AlignmentLosses
{
    /// <summary>
    /// The reward model's pairwise loss (TRL RewardTrainer): mean of −log σ(r_c − r_r − margin); the margin (per pair,
    /// or null for none) asks the chosen reward to exceed the rejected one by at least that much.
    /// </summary>
    public static Tensor BradleyTerry(Tensor chosenRewards, Tensor rejectedRewards, Tensor? margin = null)
    {
        Tensor difference = chosenRewards - rejectedRewards;
        if (margin is not null) difference = difference - margin;
        return -F.logsigmoid(difference).mean();
    }

    /// <summary>
    /// One of the DPO family's losses (<see cref="DpoLossTypes"/>) from the replies' log-probs [B] under the policy and the
    /// reference: sums for sigmoid and hinge, length averages for ipo and simpo (which ignores the reference), as TRL's
    /// DPOTrainer and CPOTrainer compute them.
    /// </summary>
    /// <param name="lossType">sigmoid, ipo, hinge or simpo.</param>
    /// <param name="policyChosen">log π(chosen | prompt) [B].</param>
    /// <param name="policyRejected">log π(rejected | prompt) [B].</param>
    /// <param name="referenceChosen">log π_ref(chosen | prompt) [B] (unused by simpo; may be null there).</param>
    /// <param name="referenceRejected">log π_ref(rejected | prompt) [B] (unused by simpo; may be null there).</param>
    /// <param name="beta">The inverse temperature β (IPO's τ).</param>
    /// <param name="labelSmoothing">cDPO's assumed rate of flipped labels, for sigmoid and simpo; 0 = plain.</param>
    /// <param name="simpoGamma">SimPO's target reward margin γ (TRL's simpo_gamma).</param>
    /// <exception cref="ArgumentException">An unknown loss type, or a missing reference.</exception>
    public static DpoLossOutput Dpo(string lossType, Tensor policyChosen, Tensor policyRejected, Tensor? referenceChosen, Tensor? referenceRejected,
        double beta, double labelSmoothing = 0, double simpoGamma = 0.5)
    {
        if (!DpoLossTypes.All.Contains(lossType)) throw new ArgumentException($"DPO loss type '{lossType}' is not one of {string.Join(", ", DpoLossTypes.All)}");
        if (lossType == DpoLossTypes.SimPo)
        {
            Tensor simpoLogits = policyChosen - policyRejected - simpoGamma / beta;
            Tensor simpoLosses = -F.logsigmoid(beta * simpoLogits) * (1 - labelSmoothing) - F.logsigmoid(-beta * simpoLogits) * labelSmoothing;
            return new DpoLossOutput(simpoLosses, (beta * policyChosen).detach(), (beta * policyRejected).detach());
        }
        if (referenceChosen is null || referenceRejected is null) throw new ArgumentException($"DPO loss '{lossType}' needs the reference log-probs");
        Tensor logits = policyChosen - policyRejected - (referenceChosen - referenceRejected);
        Tensor losses = lossType switch
        {
            DpoLossTypes.Sigmoid => -F.logsigmoid(beta * logits) * (1 - labelSmoothing) - F.logsigmoid(-beta * logits) * labelSmoothing,
            DpoLossTypes.Hinge => F.relu(1 - beta * logits),
            _ => (logits - 1 / (2 * beta)).pow(2), // ipo
        };
        return new DpoLossOutput(losses, (beta * (policyChosen - referenceChosen)).detach(), (beta * (policyRejected - referenceRejected)).detach());
    }

    /// <summary>KL estimators between the policy and the reference per sampled token (TRL's kl_penalty names).</summary>
    public static class KlEstimators
    {
        /// <summary>k1 = log π − log π_ref: unbiased, can be negative per token (TRL's default "kl").</summary>
        public const string K1 = "k1";
        /// <summary>|log π − log π_ref| (TRL "abs").</summary>
        public const string Abs = "abs";
        /// <summary>k2 = ½(log π − log π_ref)² (TRL "mse").</summary>
        public const string K2 = "k2";
        /// <summary>k3 = exp(log π_ref − log π) − (log π_ref − log π) − 1: unbiased and never negative (GRPO's).</summary>
        public const string K3 = "k3";
        /// <summary>Every estimator.</summary>
        public static readonly IReadOnlyList<string> All = [K1, Abs, K2, K3];
    }

    /// <summary>The per-token KL estimate of the sampled tokens [B, T] under <paramref name="estimator"/> (<see cref="KlEstimators"/>).</summary>
    public static Tensor Kl(Tensor logProbs, Tensor referenceLogProbs, string estimator)
    {
        Tensor d = logProbs - referenceLogProbs;
        return estimator switch
        {
            KlEstimators.K1 => d,
            KlEstimators.Abs => d.abs(),
            KlEstimators.K2 => 0.5 * d.pow(2),
            KlEstimators.K3 => (-d).exp() + d - 1,
            _ => throw new ArgumentException($"KL estimator '{estimator}' is not one of {string.Join(", ", KlEstimators.All)}"),
        };
    }

    /// <summary>Mean of <paramref name="values"/> where <paramref name="mask"/> is 1, over everything or along <paramref name="dim"/>.</summary>
    public static Tensor MaskedMean(Tensor values, Tensor mask, long? dim = null) =>
        dim is long d ? (values * mask).sum(d) / mask.sum(d) : (values * mask).sum() / mask.sum();

    /// <summary>Variance of the masked values, with Bessel's correction when <paramref name="unbiased"/> (TRL masked_var).</summary>
    public static Tensor MaskedVar(Tensor values, Tensor mask, bool unbiased = true)
    {
        Tensor mean = MaskedMean(values, mask);
        Tensor variance = MaskedMean((values - mean).pow(2), mask);
        if (!unbiased) return variance;
        double count = mask.sum().to_type(ScalarType.Float64).item<double>(); // any mask dtype (float32 or float64)
        if (count < 2) throw new ArgumentException("masked variance needs at least two unmasked values");
        return variance * (count / (count - 1));
    }

    /// <summary>(values − mean)/√(var + 1e-8) over the masked values; the mean is added back unless <paramref name="shiftMean"/> (TRL masked_whiten).</summary>
    public static Tensor Whiten(Tensor values, Tensor mask, bool shiftMean = true)
    {
        Tensor mean = MaskedMean(values, mask);
        Tensor whitened = (values - mean) * (MaskedVar(values, mask) + 1e-8).rsqrt();
        return shiftMean ? whitened : whitened + mean;
    }

    /// <summary>
    /// Generalised advantage estimation (Schulman et al. 2016) over reply tokens [B, T], as TRL's PPO computes it:
    /// δ_t = r_t + γ·V_{t+1} − V_t, A_t = δ_t + γλ·A_{t+1} (values and rewards masked, V after the last token 0);
    /// returns = A + V. The advantages come back raw: whiten them with <see cref="Whiten"/>.
    /// </summary>
    public static (Tensor Advantages, Tensor Returns) Gae(Tensor values, Tensor rewards, Tensor mask, double gamma, double lambda)
    {
        values = values * mask;
        rewards = rewards * mask;
        long length = rewards.shape[1];
        var reversed = new List<Tensor>();
        Tensor last = zeros_like(rewards[.., 0]);
        for (long t = length - 1; t >= 0; t--)
        {
            Tensor next = t < length - 1 ? values[.., t + 1] : zeros_like(values[.., t]);
            Tensor delta = rewards[.., t] + gamma * next - values[.., t];
            last = delta + gamma * lambda * last;
            reversed.Add(last);
        }
        reversed.Reverse();
        Tensor advantages = stack(reversed, 1);
        return (advantages, advantages + values);
    }

    /// <summary>
    /// PPO's clipped surrogate (TRL): ratio = exp(logπ − logπ_old); mean over masked tokens of
    /// max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)); and the fraction of tokens where the clipped term was larger.
    /// </summary>
    public static (Tensor Loss, Tensor ClipFraction) PpoPolicyLoss(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, Tensor mask, double clipRange)
    {
        Tensor ratio = (logProbs - oldLogProbs).exp();
        Tensor unclipped = -advantages * ratio;
        Tensor clipped = -advantages * ratio.clamp(1 - clipRange, 1 + clipRange);
        return (MaskedMean(maximum(unclipped, clipped), mask), MaskedMean(clipped.gt(unclipped).to(ScalarType.Float32), mask));
    }

    /// <summary>
    /// PPO's clipped value loss (TRL): ½·mean over masked tokens of max((V − R)², (clip(V, V_old ± ε_v) − R)²), and the
    /// fraction of tokens where the clipped term was larger.
    /// </summary>
    public static (Tensor Loss, Tensor ClipFraction) PpoValueLoss(Tensor values, Tensor oldValues, Tensor returns, Tensor mask, double clipRangeValue)
    {
        Tensor clippedValues = maximum(minimum(values, oldValues + clipRangeValue), oldValues - clipRangeValue);
        Tensor unclipped = (values - returns).pow(2);
        Tensor clipped = (clippedValues - returns).pow(2);
        return (0.5 * MaskedMean(maximum(unclipped, clipped), mask), MaskedMean(clipped.gt(unclipped).to(ScalarType.Float32), mask));
    }

    /// <summary>
    /// The adaptive KL controller of Ziegler et al. (2019), as TRL's AdaptiveKLController: the coefficient is multiplied
    /// by 1 + clip(KL/target − 1, ±0.2)·n/horizon after each batch of <paramref name="steps"/> samples.
    /// </summary>
    public static double AdaptKlCoefficient(double coefficient, double currentKl, double targetKl, double horizon, int steps)
    {
        double error = Math.Clamp(currentKl / targetKl - 1, -0.2, 0.2);
        return coefficient * (1 + error * steps / horizon);
    }

    /// <summary>
    /// Group-normalised advantages (GRPO, TRL): rewards [G·k] in groups of <paramref name="groupSize"/> samples of one
    /// prompt become (r − mean_group)/(std_group + 1e-4), std unbiased; with <paramref name="scaleByStd"/> false, r − mean
    /// (Dr. GRPO, nanochat).
    /// </summary>
    public static Tensor GroupAdvantages(Tensor rewards, int groupSize, bool scaleByStd = true)
    {
        Tensor grouped = rewards.view(-1, groupSize);
        Tensor centered = (grouped - grouped.mean(new long[] { 1 }, keepdim: true));
        if (scaleByStd) centered = centered / (grouped.std(1, unbiased: true, keepdim: true) + 1e-4);
        return centered.reshape(-1);
    }

    /// <summary>
    /// GRPO's loss (TRL, one update per batch): per token −(exp(logπ − sg(logπ))·A − β·k3), averaged over each
    /// reply's tokens, then over replies. The ratio is 1 in value but carries the policy gradient.
    /// </summary>
    public static Tensor GrpoLoss(Tensor logProbs, Tensor referenceLogProbs, Tensor advantages, Tensor mask, double beta)
    {
        Tensor perToken = (logProbs - logProbs.detach()).exp() * advantages.unsqueeze(1);
        if (beta != 0) perToken = perToken - beta * Kl(logProbs, referenceLogProbs, KlEstimators.K3);
        return MaskedMean(-perToken, mask, 1).mean();
    }
}
