# A random-weight GPT-2 in Hugging Face's layout (config.json, model.safetensors with "transformer."-prefixed
# Conv1D weights stored [in, out], and the attn.bias buffers older checkpoints carry), and its logits computed the
# way transformers' modeling_gpt2.py computes them (gelu_new, scaled causal attention, pre-LayerNorm, tied head).
# stdin: {"dir", "ids": [[...]], "n_embd", "n_layer", "n_head", "vocab_size", "n_positions"}; stdout: {"logits": [...]}
import json, math, os, struct, sys
import torch
import torch.nn.functional as F

req = json.load(sys.stdin)
C, L, H, V, P = req["n_embd"], req["n_layer"], req["n_head"], req["vocab_size"], req["n_positions"]
torch.manual_seed(7)
g = lambda *shape: torch.randn(*shape) * 0.2
w = {"transformer.wte.weight": g(V, C), "transformer.wpe.weight": g(P, C)}
for i in range(L):
    p = f"transformer.h.{i}."
    w[p + "ln_1.weight"], w[p + "ln_1.bias"] = 1 + g(C), g(C)
    w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"] = g(C, 3 * C), g(3 * C)
    w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = g(C, C), g(C)
    w[p + "ln_2.weight"], w[p + "ln_2.bias"] = 1 + g(C), g(C)
    w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = g(C, 4 * C), g(4 * C)
    w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"] = g(4 * C, C), g(C)
    w[p + "attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)  # a buffer, not a weight
w["transformer.ln_f.weight"], w["transformer.ln_f.bias"] = 1 + g(C), g(C)

os.makedirs(req["dir"], exist_ok=True)
with open(os.path.join(req["dir"], "config.json"), "w") as f:
    json.dump({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "activation_function": "gelu_new",
               "n_embd": C, "n_layer": L, "n_head": H, "vocab_size": V, "n_positions": P, "n_ctx": P, "n_inner": None,
               "layer_norm_epsilon": 1e-5, "scale_attn_weights": True, "tie_word_embeddings": True}, f)
header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
for name, t in w.items():
    raw = t.contiguous().numpy().tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
    blobs.append(raw)
    offset += len(raw)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(req["dir"], "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

ids = torch.tensor(req["ids"])
B, T = ids.shape
x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][torch.arange(T)]
for i in range(L):
    p = f"transformer.h.{i}."
    a = F.layer_norm(x, (C,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], 1e-5)
    q, k, v = (a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]).split(C, dim=2)
    q, k, v = (z.view(B, T, H, C // H).transpose(1, 2) for z in (q, k, v))
    att = (q @ k.transpose(-1, -2)) / math.sqrt(C // H)
    att = att.masked_fill(w[p + "attn.bias"][:, :, :T, :T] == 0, torch.finfo(att.dtype).min).softmax(-1)
    y = (att @ v).transpose(1, 2).reshape(B, T, C)
    x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
    m = F.layer_norm(x, (C,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], 1e-5)
    x = x + gelu_new(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]) @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
x = F.layer_norm(x, (C,), w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], 1e-5)
logits = x @ w["transformer.wte.weight"].t()
print(json.dumps({"logits": logits.flatten().tolist()}))
