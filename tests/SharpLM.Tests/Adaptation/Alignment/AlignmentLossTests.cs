using System.Text.Json.Nodes;
using SharpLM.Adaptation.Alignment;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Tests.Adaptation.Alignment;

/// <summary>
/// Every formula of <see cref="AlignmentLosses"/> against TRL's own, transcribed in PyTorch
/// (Fixtures/alignment/trl_reference.py): the same fixed float64 tensors go to both, and each output must agree to
/// 1e-6. Masks end in runs of zeros of different lengths, as padded replies do.
/// </summary>
public class AlignmentLossTests
{
    const double Tolerance = 1e-6;
    const int B = 4, Len = 6;
    static readonly int[] Lengths = [6, 4, 5, 2];

    static string Script => TestData.Fixture(Path.Combine("alignment", "trl_reference.py"));

    static Tensor T(double[] data, params long[] shape) => tensor(data, shape, dtype: ScalarType.Float64);

    /// <summary>
    /// Deterministic uniform values in [low, high), from SplitMix64 (System.Random's seeded generator gives nearly
    /// collinear first values for neighbouring seeds, which made differences such as DPO's logits vanish).
    /// </summary>
    static double[] Uniform(int seed, int count, double low, double high)
    {
        ulong state = (ulong)seed * 0x9E3779B97F4A7C15UL;
        var values = new double[count];
        for (int i = 0; i < count; i++)
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            values[i] = low + (high - low) * ((z >> 11) * (1.0 / (1UL << 53)));
        }
        return values;
    }

    static Tensor Rand(int seed, double low, double high, params long[] shape) =>
        T(Uniform(seed, (int)shape.Aggregate(1L, (a, b) => a * b), low, high), shape);

    /// <summary>[B, Len] of 1s then trailing 0s, row i with Lengths[i] ones.</summary>
    static Tensor Mask() =>
        T(Enumerable.Range(0, B).SelectMany(i => Enumerable.Range(0, Len).Select(t => t < Lengths[i] ? 1.0 : 0.0)).ToArray(), B, Len);

    static JsonNode Encode(Tensor t) => new JsonObject
    {
        ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
        ["data"] = new JsonArray(t.detach().contiguous().data<double>().ToArray().Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
    };

    static JsonObject Call(string op, params (string Name, object? Value)[] arguments)
    {
        var call = new JsonObject { ["op"] = op };
        foreach (var (name, value) in arguments)
            call[name] = value switch
            {
                null => null,
                Tensor t => Encode(t),
                double d => JsonValue.Create(d),
                int i => JsonValue.Create(i),
                bool b => JsonValue.Create(b),
                string s => JsonValue.Create(s),
                _ => throw new ArgumentException($"cannot encode {value.GetType()}"),
            };
        return call;
    }

    /// <summary>Runs the TRL reference on the calls; one result object per call.</summary>
    static JsonArray Trl(params JsonObject[] calls)
    {
        JsonNode response = PythonTorch.RunJson(Script, new JsonObject { ["calls"] = new JsonArray(calls) });
        var results = response["results"]!.AsArray();
        Assert.Equal(calls.Length, results.Count);
        return results;
    }

    static void AssertClose(Tensor actual, JsonNode? expected, string what)
    {
        Assert.NotNull(expected);
        long[] shape = expected!["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
        double[] want = expected["data"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.True(shape.SequenceEqual(actual.shape), $"{what}: shape [{string.Join(",", actual.shape)}], TRL [{string.Join(",", shape)}]");
        double[] got = actual.detach().to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(got[i] - want[i]) <= Tolerance, $"{what}[{i}]: C# {got[i]:R}, TRL {want[i]:R}");
    }

    static void AssertClose(double actual, JsonNode? expected, string what)
    {
        double want = expected!.GetValue<double>();
        Assert.True(Math.Abs(actual - want) <= Tolerance, $"{what}: C# {actual:R}, TRL {want:R}");
    }

    static double Scalar(JsonNode? node) => node!["data"]![0]!.GetValue<double>();

    [PythonTorchFact]
    public void Bradley_terry_loss_with_and_without_margin_equals_trl_reward_trainer()
    {
        Tensor chosen = Rand(11, -2, 3, 5), rejected = Rand(12, -3, 2, 5), margin = Rand(13, 0, 2, 5);
        var trl = Trl(Call("bradley_terry", ("chosen", chosen), ("rejected", rejected), ("margin", null)),
                      Call("bradley_terry", ("chosen", chosen), ("rejected", rejected), ("margin", margin)));
        AssertClose(AlignmentLosses.BradleyTerry(chosen, rejected), trl[0]!["loss"], "loss without margin");
        AssertClose(AlignmentLosses.BradleyTerry(chosen, rejected, margin), trl[1]!["loss"], "loss with margin");
        Assert.True(Scalar(trl[1]!["loss"]) > Scalar(trl[0]!["loss"]), "a positive margin raises the loss");
    }

    [PythonTorchFact]
    public void Dpo_sigmoid_ipo_hinge_and_simpo_losses_and_rewards_equal_trl_to_1e6()
    {
        // Summed log-probs for sigmoid and hinge, length-averaged ones for ipo and simpo (as the trainers feed them).
        Tensor pc = Rand(21, -40, -10, 6), pr = Rand(22, -40, -10, 6), rc = Rand(23, -40, -10, 6), rr = Rand(24, -40, -10, 6);
        Tensor apc = pc / 12, apr = pr / 12, arc = rc / 12, arr = rr / 12;
        var cases = new (string Type, double Beta, double Smoothing, double Gamma, bool Averaged)[]
        {
            (DpoLossTypes.Sigmoid, 0.1, 0.0, 0, false),
            (DpoLossTypes.Sigmoid, 0.1, 0.1, 0, false),
            (DpoLossTypes.Ipo, 0.5, 0.0, 0, true),
            (DpoLossTypes.Hinge, 0.1, 0.0, 0, false),
            (DpoLossTypes.SimPo, 2.0, 0.0, 0.5, true),
            (DpoLossTypes.SimPo, 2.5, 0.1, 1.2, true),
        };
        var trl = Trl(cases.Select(c =>
        {
            var (a, b, r1, r2) = c.Averaged ? (apc, apr, arc, arr) : (pc, pr, rc, rr);
            return Call("dpo", ("loss_type", c.Type), ("beta", c.Beta), ("label_smoothing", c.Smoothing), ("simpo_gamma", c.Gamma),
                ("policy_chosen", a), ("policy_rejected", b), ("reference_chosen", r1), ("reference_rejected", r2));
        }).ToArray());
        for (int i = 0; i < cases.Length; i++)
        {
            var c = cases[i];
            var (a, b, r1, r2) = c.Averaged ? (apc, apr, arc, arr) : (pc, pr, rc, rr);
            bool simpo = c.Type == DpoLossTypes.SimPo;
            var output = AlignmentLosses.Dpo(c.Type, a, b, simpo ? null : r1, simpo ? null : r2, c.Beta, c.Smoothing, c.Gamma);
            string name = $"{c.Type} β={c.Beta} ls={c.Smoothing} γ={c.Gamma}";
            AssertClose(output.Losses, trl[i]!["losses"], $"{name} losses");
            AssertClose(output.ChosenRewards, trl[i]!["chosen_rewards"], $"{name} chosen rewards");
            AssertClose(output.RejectedRewards, trl[i]!["rejected_rewards"], $"{name} rejected rewards");
        }
        // The hinge case must exercise both sides of the hinge, or it would not test the relu.
        double[] hinge = AlignmentLosses.Dpo(DpoLossTypes.Hinge, pc, pr, rc, rr, 0.1).Losses.data<double>().ToArray();
        Assert.Contains(hinge, v => v == 0);
        Assert.Contains(hinge, v => v > 0);
    }

    [PythonTorchFact]
    public void Kl_estimators_k1_abs_k2_k3_equal_trl_kl_penalty_and_grpo_kl()
    {
        Tensor logProbs = Rand(31, -4, -0.05, B, Len), reference = Rand(32, -4, -0.05, B, Len);
        var trl = Trl(AlignmentLosses.KlEstimators.All.Select(e => Call("kl", ("estimator", e), ("logprobs", logProbs), ("ref_logprobs", reference))).ToArray());
        for (int i = 0; i < AlignmentLosses.KlEstimators.All.Count; i++)
        {
            string estimator = AlignmentLosses.KlEstimators.All[i];
            AssertClose(AlignmentLosses.Kl(logProbs, reference, estimator), trl[i]!["kl"], estimator);
        }
    }

    [PythonTorchFact]
    public void Masked_mean_var_and_whiten_equal_trl_masked_functions()
    {
        Tensor values = Rand(41, -3, 5, B, Len), mask = Mask();
        // Masked-out entries hold large values: any leak into the statistics shows.
        values = values + (1 - mask) * 100;
        var trl = Trl(Call("masked", ("values", values), ("mask", mask)))[0]!;
        AssertClose(AlignmentLosses.MaskedMean(values, mask), trl["mean"], "masked_mean");
        AssertClose(AlignmentLosses.MaskedMean(values, mask, 1), trl["mean_axis1"], "masked_mean axis=1");
        AssertClose(AlignmentLosses.MaskedVar(values, mask), trl["var_unbiased"], "masked_var unbiased");
        AssertClose(AlignmentLosses.MaskedVar(values, mask, unbiased: false), trl["var_biased"], "masked_var biased");
        AssertClose(AlignmentLosses.Whiten(values, mask), trl["whiten_shift"], "masked_whiten shift_mean=True");
        AssertClose(AlignmentLosses.Whiten(values, mask, shiftMean: false), trl["whiten_noshift"], "masked_whiten shift_mean=False");
    }

    [PythonTorchFact]
    public void Gae_advantages_and_returns_match_trl_compute_advantages()
    {
        Tensor values = Rand(51, -1, 2, B, Len), mask = Mask();
        // Small per-token rewards plus a score on each reply's last token, as PPO's rewards carry them.
        double[] perToken = Uniform(52, B * Len, -0.5, 0.5);
        for (int i = 0; i < B; i++) perToken[i * Len + Lengths[i] - 1] += 2.0 * (i - 1.5);
        Tensor rewards = T(perToken, B, Len);
        var settings = new (double Gamma, double Lambda)[] { (1.0, 0.95), (0.9, 0.8) };
        var trl = Trl(settings.Select(s => Call("gae", ("gamma", s.Gamma), ("lam", s.Lambda), ("values", values), ("rewards", rewards), ("mask", mask))).ToArray());
        for (int i = 0; i < settings.Length; i++)
        {
            var (advantages, returns) = AlignmentLosses.Gae(values, rewards, mask, settings[i].Gamma, settings[i].Lambda);
            string name = $"γ={settings[i].Gamma} λ={settings[i].Lambda}";
            AssertClose(advantages, trl[i]!["advantages"], $"{name} advantages");
            AssertClose(returns, trl[i]!["returns"], $"{name} returns");
            AssertClose(AlignmentLosses.Whiten(advantages, mask), trl[i]!["whitened_advantages"], $"{name} whitened advantages");
        }
    }

    [PythonTorchFact]
    public void Ppo_clipped_policy_and_value_losses_and_clip_fractions_match_trl()
    {
        Tensor mask = Mask();
        Tensor oldLogProbs = Rand(61, -4, -0.1, B, Len);
        Tensor logProbs = oldLogProbs + Rand(62, -0.5, 0.5, B, Len); // ratios from 0.6 to 1.65: many clip at ε = 0.2
        Tensor advantages = Rand(63, -2, 2, B, Len);
        Tensor oldValues = Rand(64, -1, 1, B, Len);
        Tensor values = oldValues + Rand(65, -0.6, 0.6, B, Len); // many outside ε_v = 0.2
        Tensor returns = Rand(66, -1.5, 1.5, B, Len);
        var settings = new (double Clip, double ClipValue)[] { (0.2, 0.2), (0.1, 0.4) };
        var trl = Trl(settings.Select(s => Call("ppo_loss", ("cliprange", s.Clip), ("cliprange_value", s.ClipValue), ("old_logprobs", oldLogProbs),
            ("values", oldValues), ("vpreds", values), ("logprobs", logProbs), ("mask", mask), ("advantages", advantages), ("returns", returns))).ToArray());
        for (int i = 0; i < settings.Length; i++)
        {
            string name = $"ε={settings[i].Clip} ε_v={settings[i].ClipValue}";
            var (policyLoss, policyClip) = AlignmentLosses.PpoPolicyLoss(logProbs, oldLogProbs, advantages, mask, settings[i].Clip);
            var (valueLoss, valueClip) = AlignmentLosses.PpoValueLoss(values, oldValues, returns, mask, settings[i].ClipValue);
            AssertClose(policyLoss, trl[i]!["pg_loss"], $"{name} pg_loss");
            AssertClose(policyClip, trl[i]!["pg_clipfrac"], $"{name} pg_clipfrac");
            AssertClose(valueLoss, trl[i]!["vf_loss"], $"{name} vf_loss");
            AssertClose(valueClip, trl[i]!["vf_clipfrac"], $"{name} vf_clipfrac");
            // The inputs must actually clip, some tokens but not all, or the clipping would go untested.
            Assert.InRange(Scalar(trl[i]!["pg_clipfrac"]), 0.05, 0.95);
            Assert.InRange(Scalar(trl[i]!["vf_clipfrac"]), 0.05, 0.95);
        }
    }

    [PythonTorchFact]
    public void Adaptive_kl_coefficient_matches_trl_controller_above_and_below_target()
    {
        // Target 6: far above (error clipped to +0.2), a little above, a little below, far below (clipped to −0.2).
        double[] currents = [9.0, 6.6, 5.5, 1.0];
        var trl = Trl(currents.Select(kl => Call("adaptive_kl", ("init_kl_coef", 0.2), ("target", 6.0), ("horizon", 10000.0), ("current", kl), ("n_steps", 256))).ToArray());
        for (int i = 0; i < currents.Length; i++)
            AssertClose(AlignmentLosses.AdaptKlCoefficient(0.2, currents[i], 6.0, 10000, 256), trl[i]!["value"], $"KL {currents[i]}");
        Assert.True(trl[0]!["value"]!.GetValue<double>() > 0.2 && trl[3]!["value"]!.GetValue<double>() < 0.2);
    }

    [PythonTorchFact]
    public void Group_advantages_match_grpo_with_and_without_std_scaling()
    {
        // Three groups of four samples; the last group's rewards are all equal (std 0: advantages 0, not NaN).
        double[] data = Uniform(71, 8, 0, 1).Concat([0.5, 0.5, 0.5, 0.5]).ToArray();
        data[2] = 1.0;
        Tensor rewards = T(data, 12);
        var trl = Trl(Call("group_advantages", ("rewards", rewards), ("num_generations", 4), ("scale_rewards", true)),
                      Call("group_advantages", ("rewards", rewards), ("num_generations", 4), ("scale_rewards", false)));
        AssertClose(AlignmentLosses.GroupAdvantages(rewards, 4), trl[0]!["advantages"], "scaled by std");
        AssertClose(AlignmentLosses.GroupAdvantages(rewards, 4, scaleByStd: false), trl[1]!["advantages"], "centred only");
    }

    [PythonTorchFact]
    public void Grpo_loss_and_its_gradient_match_trl_for_beta_0_and_0_04()
    {
        Tensor logProbs = Rand(81, -3, -0.05, B, Len), reference = Rand(82, -3, -0.05, B, Len), mask = Mask();
        Tensor advantages = T([1.2, -0.4, 0.9, -1.5], B); // not summing to 0, so the β = 0 loss is not trivially 0
        double[] betas = [0.0, 0.04];
        var trl = Trl(betas.Select(beta => Call("grpo_loss", ("beta", beta), ("logprobs", logProbs), ("ref_logprobs", reference), ("advantages", advantages), ("mask", mask))).ToArray());
        for (int i = 0; i < betas.Length; i++)
        {
            Tensor leaf = logProbs.detach().clone().requires_grad_(true);
            Tensor loss = AlignmentLosses.GrpoLoss(leaf, reference, advantages, mask, betas[i]);
            loss.backward();
            AssertClose(loss, trl[i]!["loss"], $"β={betas[i]} loss");
            AssertClose(leaf.grad!, trl[i]!["grad"], $"β={betas[i]} ∂loss/∂logprobs");
        }
    }
}
