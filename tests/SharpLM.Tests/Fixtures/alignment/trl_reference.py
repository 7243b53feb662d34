#!/usr/bin/env python3
"""TRL's alignment formulas, transcribed from TRL's Python source, as the reference for AlignmentLossTests.

Each function below is written the way TRL writes it (same loops, same names, same order of operations), from
huggingface/trl: trl/core.py + trl/trainer/utils.py (masked_mean, masked_var, masked_whiten, clip_by_value),
trl/trainer/ppo_trainer.py (PPOTrainer.compute_advantages, PPOTrainer.loss, PPOTrainer._kl_penalty; the classic
PPOTrainer of TRL <= 0.11), trl/trainer/utils.py AdaptiveKLController, trl/trainer/dpo_trainer.py
(DPOTrainer.dpo_loss), trl/trainer/cpo_trainer.py (CPOTrainer.cpo_loss, loss_type "simpo"),
trl/trainer/reward_trainer.py (RewardTrainer.compute_loss) and trl/trainer/grpo_trainer.py
(GRPOTrainer._prepare_inputs for the advantages, GRPOTrainer.compute_loss for the loss). The model forward passes
are replaced by their outputs (log-probs, values, rewards) given as inputs. It does NOT read the C# code.

Protocol: a JSON object {"calls": [{"op": NAME, ...arguments}, ...]} on stdin (or in the file named by the first
argument); a tensor argument is {"shape": [...], "data": [flat row-major numbers]}. Prints
{"results": [{name: tensor-or-number, ...}, ...]}, one result per call, computed in float64.
Needs torch and numpy only (Debian: python3-torch python3-numpy).
"""
import json
import sys
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


# ---------------------------------------------------------------------------------------------------------------
# trl/core.py (later trl/trainer/utils.py): masked_mean, masked_var, masked_whiten, clip_by_value
# ---------------------------------------------------------------------------------------------------------------

def masked_mean(values, mask, axis=None):
    """Compute mean of tensor with a masked values."""
    if axis is not None:
        return (values * mask).sum(axis=axis) / mask.sum(axis=axis)
    else:
        return (values * mask).sum() / mask.sum()


def masked_var(values, mask, unbiased=True):
    """Compute variance of tensor with masked values."""
    mean = masked_mean(values, mask)
    centered_values = values - mean
    variance = masked_mean(centered_values**2, mask)
    if unbiased:
        mask_sum = mask.sum()
        if mask_sum == 0:
            raise ValueError(
                "The sum of the mask is zero, which can happen when `mini_batch_size=1`;"
                "try increase the `mini_batch_size` or `gradient_accumulation_steps`"
            )
        # note that if mask_sum == 1, then there is a division by zero issue
        # to avoid it you just need to use a larger minibatch_size
        bessel_correction = mask_sum / (mask_sum - 1)
        variance = variance * bessel_correction
    return variance


def masked_whiten(values, mask, shift_mean=True):
    """Whiten values with masked values."""
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened += mean
    return whitened


def clip_by_value(x, tensor_min, tensor_max):
    """Tensor extension to torch.clamp https://github.com/pytorch/pytorch/issues/2214"""
    clipped = torch.max(torch.min(x, tensor_max), tensor_min)
    return clipped


# ---------------------------------------------------------------------------------------------------------------
# trl/trainer/utils.py: AdaptiveKLController (Ziegler et al. 2019)
# ---------------------------------------------------------------------------------------------------------------

class AdaptiveKLController:
    """Adaptive KL controller described in the paper: https://huggingface.co/papers/1909.08593"""

    def __init__(self, init_kl_coef, target, horizon):
        self.value = init_kl_coef
        self.target = target
        self.horizon = horizon

    def update(self, current, n_steps):
        target = self.target
        proportional_error = np.clip(current / target - 1, -0.2, 0.2)
        mult = 1 + proportional_error * n_steps / self.horizon
        self.value *= mult


# ---------------------------------------------------------------------------------------------------------------
# trl/trainer/ppo_trainer.py: PPOTrainer (classic, TRL <= 0.11) compute_advantages, loss, _kl_penalty
# ---------------------------------------------------------------------------------------------------------------

class PPOTrainer:
    def __init__(self, **config):
        self.config = SimpleNamespace(**config)

    # PPOTrainer._kl_penalty
    def _kl_penalty(self, logprob, ref_logprob):
        if self.config.kl_penalty == "kl":
            return logprob - ref_logprob

        if self.config.kl_penalty == "abs":
            return (logprob - ref_logprob).abs()

        if self.config.kl_penalty == "mse":
            return 0.5 * (logprob - ref_logprob).square()

        raise NotImplementedError

    # PPOTrainer.compute_advantages (returns the raw advantages too, i.e. before the masked_whiten it ends with)
    def compute_advantages(self, values, rewards, mask):
        lastgaelam = 0
        advantages_reversed = []
        gen_len = rewards.shape[-1]

        values = values * mask
        rewards = rewards * mask

        for t in reversed(range(gen_len)):
            nextvalues = values[:, t + 1] if t < gen_len - 1 else 0.0
            delta = rewards[:, t] + self.config.gamma * nextvalues - values[:, t]
            lastgaelam = delta + self.config.gamma * self.config.lam * lastgaelam
            advantages_reversed.append(lastgaelam)
        advantages = torch.stack(advantages_reversed[::-1]).transpose(0, 1)

        returns = advantages + values
        raw_advantages = advantages
        advantages = masked_whiten(advantages, mask)
        advantages = advantages.detach()
        return values, advantages, returns, raw_advantages

    # PPOTrainer.loss (the clipped value and policy terms and their clip fractions)
    def loss(self, old_logprobs, values, vpreds, logprobs, mask, advantages, returns):
        vpredclipped = clip_by_value(
            vpreds,
            values - self.config.cliprange_value,
            values + self.config.cliprange_value,
        )

        vf_losses1 = (vpreds - returns) ** 2
        vf_losses2 = (vpredclipped - returns) ** 2
        vf_loss = 0.5 * masked_mean(torch.max(vf_losses1, vf_losses2), mask)
        vf_clipfrac = masked_mean(torch.gt(vf_losses2, vf_losses1).double(), mask)

        ratio = torch.exp(logprobs - old_logprobs)

        pg_losses = -advantages * ratio
        pg_losses2 = -advantages * torch.clamp(ratio, 1.0 - self.config.cliprange, 1.0 + self.config.cliprange)

        pg_loss = masked_mean(torch.max(pg_losses, pg_losses2), mask)
        pg_clipfrac = masked_mean(torch.gt(pg_losses2, pg_losses).double(), mask)

        return pg_loss, pg_clipfrac, vf_loss, vf_clipfrac


# ---------------------------------------------------------------------------------------------------------------
# trl/trainer/dpo_trainer.py: DPOTrainer.dpo_loss (loss types sigmoid, hinge, ipo)
# ---------------------------------------------------------------------------------------------------------------

class DPOTrainer:
    def __init__(self, beta, label_smoothing, loss_type, reference_free=False):
        self.beta = beta
        self.label_smoothing = label_smoothing
        self.loss_type = loss_type
        self.reference_free = reference_free

    def dpo_loss(self, policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps):
        pi_logratios = policy_chosen_logps - policy_rejected_logps
        if self.reference_free:
            ref_logratios = torch.tensor([0], dtype=pi_logratios.dtype)
        else:
            ref_logratios = reference_chosen_logps - reference_rejected_logps

        logits = pi_logratios - ref_logratios

        # The beta is a temperature parameter for the DPO loss, typically something in the range of 0.1 to 0.5.
        # We ignore the reference model as beta -> 0. The label_smoothing parameter encodes our uncertainty about the
        # labels and calculates a conservative DPO loss.
        if self.loss_type == "sigmoid":
            losses = (
                -F.logsigmoid(self.beta * logits) * (1 - self.label_smoothing)
                - F.logsigmoid(-self.beta * logits) * self.label_smoothing
            )
        elif self.loss_type == "hinge":
            losses = torch.relu(1 - self.beta * logits)
        elif self.loss_type == "ipo":
            # eqn (17) of the paper where beta is the regularization parameter for the IPO loss, denoted by tau in the paper.
            losses = (logits - 1 / (2 * self.beta)) ** 2
        else:
            raise ValueError(f"Unknown loss type: {self.loss_type}.")

        chosen_rewards = self.beta * (policy_chosen_logps - reference_chosen_logps).detach()
        rejected_rewards = self.beta * (policy_rejected_logps - reference_rejected_logps).detach()

        return losses, chosen_rewards, rejected_rewards


# ---------------------------------------------------------------------------------------------------------------
# trl/trainer/cpo_trainer.py: CPOTrainer.cpo_loss with loss_type == "simpo"
# ---------------------------------------------------------------------------------------------------------------

class CPOTrainer:
    def __init__(self, beta, label_smoothing, simpo_gamma, loss_type="simpo"):
        self.beta = beta
        self.label_smoothing = label_smoothing
        self.simpo_gamma = simpo_gamma
        self.loss_type = loss_type

    def cpo_loss(self, policy_chosen_logps, policy_rejected_logps):
        logits = policy_chosen_logps - policy_rejected_logps

        # The beta is a temperature parameter for the CPO loss, typically something in the range of 0.1 to 0.5.
        # We ignore the reference model as beta -> 0. The label_smoothing parameter encodes our uncertainty about the labels and
        # calculates a conservative CPO loss.

        if self.loss_type == "simpo":
            gamma_logratios = self.simpo_gamma / self.beta
            logits = logits - gamma_logratios
            # This reduces to Equation 3 from the CPO paper when label_smoothing -> 0.
            losses = (
                -F.logsigmoid(self.beta * logits) * (1 - self.label_smoothing)
                - F.logsigmoid(-self.beta * logits) * self.label_smoothing
            )
        else:
            raise ValueError(f"Unknown loss type: {self.loss_type}.")

        chosen_rewards = self.beta * (policy_chosen_logps).detach()
        rejected_rewards = self.beta * (policy_rejected_logps).detach()

        return losses, chosen_rewards, rejected_rewards


# ---------------------------------------------------------------------------------------------------------------
# trl/trainer/reward_trainer.py: RewardTrainer.compute_loss (after the two forward passes)
# ---------------------------------------------------------------------------------------------------------------

def reward_trainer_compute_loss(rewards_chosen, rewards_rejected, inputs):
    # calculate loss, optionally modulate with margin
    if "margin" in inputs:
        loss = -nn.functional.logsigmoid(rewards_chosen - rewards_rejected - inputs["margin"]).mean()
    else:
        loss = -nn.functional.logsigmoid(rewards_chosen - rewards_rejected).mean()
    return loss


# ---------------------------------------------------------------------------------------------------------------
# trl/trainer/grpo_trainer.py: GRPOTrainer._prepare_inputs (group advantages) and compute_loss (one iteration,
# num_iterations == 1, so old_per_token_logps = per_token_logps.detach())
# ---------------------------------------------------------------------------------------------------------------

class GRPOTrainer:
    def __init__(self, num_generations, beta, scale_rewards=True):
        self.num_generations = num_generations
        self.beta = beta
        self.scale_rewards = scale_rewards

    # GRPOTrainer._prepare_inputs: "Compute grouped-wise rewards"
    def group_advantages(self, rewards):
        mean_grouped_rewards = rewards.view(-1, self.num_generations).mean(dim=1)
        std_grouped_rewards = rewards.view(-1, self.num_generations).std(dim=1)

        # Normalize the rewards to compute the advantages
        mean_grouped_rewards = mean_grouped_rewards.repeat_interleave(self.num_generations, dim=0)
        std_grouped_rewards = std_grouped_rewards.repeat_interleave(self.num_generations, dim=0)
        advantages = rewards - mean_grouped_rewards
        if self.scale_rewards:
            advantages = advantages / (std_grouped_rewards + 1e-4)
        return advantages

    # GRPOTrainer.compute_loss (per_token_logps given instead of computed from the model)
    def compute_loss(self, per_token_logps, inputs):
        completion_mask = inputs["completion_mask"]

        # Compute the KL divergence between the model and the reference model
        ref_per_token_logps = inputs["ref_per_token_logps"]
        per_token_kl = torch.exp(ref_per_token_logps - per_token_logps) - (ref_per_token_logps - per_token_logps) - 1

        # x - x.detach() allows for preserving gradients from x
        advantages = inputs["advantages"]
        per_token_loss = torch.exp(per_token_logps - per_token_logps.detach()) * advantages.unsqueeze(1)
        per_token_loss = -(per_token_loss - self.beta * per_token_kl)
        loss = ((per_token_loss * completion_mask).sum(dim=1) / completion_mask.sum(dim=1)).mean()
        return loss


def grpo_k3(per_token_logps, ref_per_token_logps):
    # grpo_trainer.py compute_loss: per_token_kl
    return torch.exp(ref_per_token_logps - per_token_logps) - (ref_per_token_logps - per_token_logps) - 1


# ---------------------------------------------------------------------------------------------------------------
# The operations the tests call
# ---------------------------------------------------------------------------------------------------------------

def op_bradley_terry(a):
    inputs = {} if a.get("margin") is None else {"margin": a["margin"]}
    return {"loss": reward_trainer_compute_loss(a["chosen"], a["rejected"], inputs)}


def op_dpo(a):
    if a["loss_type"] == "simpo":
        trainer = CPOTrainer(beta=a["beta"], label_smoothing=a["label_smoothing"], simpo_gamma=a["simpo_gamma"])
        losses, chosen_rewards, rejected_rewards = trainer.cpo_loss(a["policy_chosen"], a["policy_rejected"])
    else:
        trainer = DPOTrainer(beta=a["beta"], label_smoothing=a["label_smoothing"], loss_type=a["loss_type"])
        losses, chosen_rewards, rejected_rewards = trainer.dpo_loss(
            a["policy_chosen"], a["policy_rejected"], a["reference_chosen"], a["reference_rejected"])
    return {"losses": losses, "chosen_rewards": chosen_rewards, "rejected_rewards": rejected_rewards}


def op_kl(a):
    # The C# names: k1, abs, k2 are PPOTrainer's "kl", "abs", "mse"; k3 is GRPO's estimator.
    if a["estimator"] == "k3":
        return {"kl": grpo_k3(a["logprobs"], a["ref_logprobs"])}
    trl_name = {"k1": "kl", "abs": "abs", "k2": "mse"}[a["estimator"]]
    return {"kl": PPOTrainer(kl_penalty=trl_name)._kl_penalty(a["logprobs"], a["ref_logprobs"])}


def op_masked(a):
    values, mask = a["values"], a["mask"]
    return {
        "mean": masked_mean(values, mask),
        "mean_axis1": masked_mean(values, mask, axis=1),
        "var_unbiased": masked_var(values, mask, unbiased=True),
        "var_biased": masked_var(values, mask, unbiased=False),
        "whiten_shift": masked_whiten(values, mask, shift_mean=True),
        "whiten_noshift": masked_whiten(values, mask, shift_mean=False),
    }


def op_gae(a):
    trainer = PPOTrainer(gamma=a["gamma"], lam=a["lam"])
    values, advantages, returns, raw_advantages = trainer.compute_advantages(a["values"], a["rewards"], a["mask"])
    return {"advantages": raw_advantages, "returns": returns, "whitened_advantages": advantages}


def op_ppo_loss(a):
    trainer = PPOTrainer(cliprange=a["cliprange"], cliprange_value=a["cliprange_value"])
    pg_loss, pg_clipfrac, vf_loss, vf_clipfrac = trainer.loss(
        old_logprobs=a["old_logprobs"], values=a["values"], vpreds=a["vpreds"], logprobs=a["logprobs"],
        mask=a["mask"], advantages=a["advantages"], returns=a["returns"])
    return {"pg_loss": pg_loss, "pg_clipfrac": pg_clipfrac, "vf_loss": vf_loss, "vf_clipfrac": vf_clipfrac}


def op_adaptive_kl(a):
    controller = AdaptiveKLController(a["init_kl_coef"], a["target"], a["horizon"])
    controller.update(a["current"], a["n_steps"])
    return {"value": float(controller.value)}


def op_group_advantages(a):
    trainer = GRPOTrainer(num_generations=a["num_generations"], beta=0.0, scale_rewards=a["scale_rewards"])
    return {"advantages": trainer.group_advantages(a["rewards"])}


def op_grpo_loss(a):
    trainer = GRPOTrainer(num_generations=1, beta=a["beta"])
    per_token_logps = a["logprobs"].clone().requires_grad_(True)
    loss = trainer.compute_loss(per_token_logps, {
        "completion_mask": a["mask"], "ref_per_token_logps": a["ref_logprobs"], "advantages": a["advantages"]})
    loss.backward()
    return {"loss": loss.detach(), "grad": per_token_logps.grad}


OPS = {
    "bradley_terry": op_bradley_terry,
    "dpo": op_dpo,
    "kl": op_kl,
    "masked": op_masked,
    "gae": op_gae,
    "ppo_loss": op_ppo_loss,
    "adaptive_kl": op_adaptive_kl,
    "group_advantages": op_group_advantages,
    "grpo_loss": op_grpo_loss,
}


def decode(value):
    if isinstance(value, dict) and "shape" in value and "data" in value:
        return torch.tensor(value["data"], dtype=torch.float64).reshape(value["shape"])
    return value


def encode(value):
    if isinstance(value, torch.Tensor):
        value = value.detach().to(torch.float64)
        return {"shape": list(value.shape), "data": value.reshape(-1).tolist()}
    return value


def main():
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    request = json.loads(text)
    results = []
    for call in request["calls"]:
        arguments = {k: decode(v) for k, v in call.items() if k != "op"}
        results.append({k: encode(v) for k, v in OPS[call["op"]](arguments).items()})
    json.dump({"results": results}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
