# Logits of a Hugging Face folder with a PEFT LoRA adapter applied, as PEFT's LoraLayer computes them, in plain
# PyTorch (peft itself is not installable here): for every module the adapter's keys name,
#   W <- W + (lora_alpha / r) * B @ A          (nn.Linear, weight [out, in])
#   W <- W + ((lora_alpha / r) * B @ A).T      (GPT-2's Conv1D, weight [in, out]: fan_in_fan_out)
# which is LoraLayer.get_delta_weight merged into the base (use_rslora false: scaling = lora_alpha / r). The merged
# weights then go through hf_reference.py's transcription of transformers' modeling code.
# stdin: {"dir": HF folder, "adapter": PEFT adapter folder, "ids": [[...]]}; stdout: {"logits": [...]}.
import json, os, sys
import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_reference import read_folder, read_safetensors, logits_of

PREFIX = "base_model.model."

def apply_adapter(weights, adapter_dir):
    cfg = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    assert cfg["peft_type"] == "LORA" and not cfg.get("use_rslora") and not cfg.get("use_dora") and cfg.get("bias", "none") == "none"
    scaling = cfg["lora_alpha"] / cfg["r"]
    lora = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    modules = sorted({k[len(PREFIX):-len(".lora_A.weight")] for k in lora if k.endswith(".lora_A.weight")})
    assert len(lora) == 2 * len(modules), sorted(lora)
    for m in modules:
        a, b = lora[PREFIX + m + ".lora_A.weight"], lora[PREFIX + m + ".lora_B.weight"]
        assert a.shape[0] == cfg["r"] and b.shape[1] == cfg["r"]
        delta = scaling * (b @ a)                      # [out, in]
        w = weights[m + ".weight"]
        weights[m + ".weight"] = w + (delta.t() if cfg.get("fan_in_fan_out") else delta)
        assert weights[m + ".weight"].shape == w.shape
    return modules

req = json.load(sys.stdin)
config, weights = read_folder(req["dir"])
modules = apply_adapter(weights, req["adapter"])
logits = logits_of(config, weights, torch.tensor(req["ids"]))
print(json.dumps({"logits": logits.flatten().tolist(), "modules": modules}))
