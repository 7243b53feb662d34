# Reference logits for Hugging Face checkpoints, computed as transformers' modeling code computes them, transcribed
# into plain PyTorch (Debian's python3-torch 1.13; transformers itself is not installable here):
#   gpt2                   modeling_gpt2.py: learned positions, pre-LayerNorm, gelu_new, Conv1D weights stored [in, out]
#   llama, mistral, qwen2  modeling_llama.py / modeling_mistral.py / modeling_qwen2.py: RMSNorm, rotate-half RoPE with
#                          rope_scaling (llama3, linear), grouped-query attention (repeat_kv), a sliding window
#                          (mistral), q/k/v biases (qwen2), SwiGLU MLP, tied or untied head
# stdin: {"mode": "make" | "logits", "dir", "ids": [[...]], ...}
#   make:   writes a random-weight folder (config.json, model.safetensors or "shards" shards with the index) from
#           {"family", "config": {config.json fields}, "dtype": "F32" | "BF16", "shards", "legacy_buffers"}
#   logits: reads the folder (config.json and safetensors, as SharpLM exports them)
# stdout: {"logits": [...]} for ids.
# Importable: read_folder, read_safetensors, logits_of (peft_lora_reference.py uses them).
import json, math, os, struct, sys
import torch
import torch.nn.functional as F

DTYPES = {"F32": (torch.float32, 4), "BF16": (torch.bfloat16, 2), "F16": (torch.float16, 2)}

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        raw = bytearray(data[8 + n + a:8 + n + b])
        t = torch.frombuffer(raw, dtype=DTYPES[e["dtype"]][0]) if raw else torch.zeros(0, dtype=DTYPES[e["dtype"]][0])
        out[name] = t.reshape(e["shape"]).float()
    return out

def read_folder(d):
    config = json.load(open(os.path.join(d, "config.json")))
    index = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(index):
        w = {}
        for shard in sorted(set(json.load(open(index))["weight_map"].values())):
            w.update(read_safetensors(os.path.join(d, shard)))
    else:
        w = read_safetensors(os.path.join(d, "model.safetensors"))
    return config, w

def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        raw = t.contiguous().numpy().tobytes() if dtype == "F32" else t.to(DTYPES[dtype][0]).contiguous().view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

def make(req):
    family, c = req["family"], req["config"]
    torch.manual_seed(req.get("seed", 7))
    g = lambda *shape: torch.randn(*shape) * 0.2
    w = {}
    if family == "gpt2":
        C, L, V, P = c["n_embd"], c["n_layer"], c["vocab_size"], c["n_positions"]
        inner = c.get("n_inner") or 4 * C
        w["transformer.wte.weight"], w["transformer.wpe.weight"] = g(V, C), g(P, C)
        for i in range(L):
            p = f"transformer.h.{i}."
            w[p + "ln_1.weight"], w[p + "ln_1.bias"] = 1 + g(C), g(C)
            w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"] = g(C, 3 * C), g(3 * C)
            w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = g(C, C), g(C)
            w[p + "ln_2.weight"], w[p + "ln_2.bias"] = 1 + g(C), g(C)
            w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = g(C, inner), g(inner)
            w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"] = g(inner, C), g(C)
            if req.get("legacy_buffers"):
                w[p + "attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)  # a buffer, not a weight
        w["transformer.ln_f.weight"], w["transformer.ln_f.bias"] = 1 + g(C), g(C)
        if not c.get("tie_word_embeddings", True):
            w["lm_head.weight"] = g(V, C)
    else:
        C, L, V, H = c["hidden_size"], c["num_hidden_layers"], c["vocab_size"], c["num_attention_heads"]
        KV, I, D = c.get("num_key_value_heads", H), c["intermediate_size"], c["hidden_size"] // c["num_attention_heads"]
        w["model.embed_tokens.weight"] = g(V, C)
        for i in range(L):
            p = f"model.layers.{i}."
            w[p + "input_layernorm.weight"] = 1 + g(C)
            w[p + "self_attn.q_proj.weight"], w[p + "self_attn.k_proj.weight"], w[p + "self_attn.v_proj.weight"] = g(H * D, C), g(KV * D, C), g(KV * D, C)
            if family == "qwen2":
                w[p + "self_attn.q_proj.bias"], w[p + "self_attn.k_proj.bias"], w[p + "self_attn.v_proj.bias"] = g(H * D), g(KV * D), g(KV * D)
            w[p + "self_attn.o_proj.weight"] = g(C, H * D)
            w[p + "post_attention_layernorm.weight"] = 1 + g(C)
            w[p + "mlp.gate_proj.weight"], w[p + "mlp.up_proj.weight"], w[p + "mlp.down_proj.weight"] = g(I, C), g(I, C), g(C, I)
            if req.get("legacy_buffers"):
                w[p + "self_attn.rotary_emb.inv_freq"] = torch.rand(D // 2)  # older checkpoints saved it
        w["model.norm.weight"] = 1 + g(C)
        if not c.get("tie_word_embeddings", False):
            w["lm_head.weight"] = g(V, C)
    d, dtype, shards = req["dir"], req.get("dtype", "F32"), req.get("shards", 1)
    os.makedirs(d, exist_ok=True)
    json.dump(dict(c, model_type=family), open(os.path.join(d, "config.json"), "w"))
    if shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), w, dtype)
    else:
        names, weight_map = list(w), {}
        for s in range(shards):
            file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {n: w[n] for n in names[s::shards]}
            write_safetensors(os.path.join(d, file), part, dtype)
            weight_map.update({n: file for n in part})
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, open(os.path.join(d, "model.safetensors.index.json"), "w"))

# ---- modeling_gpt2.py

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

def gpt2_logits(c, w, ids):
    pre = "transformer." if "transformer.wte.weight" in w else ""
    C, L, H, eps = c["n_embd"], c["n_layer"], c["n_head"], c.get("layer_norm_epsilon", 1e-5)
    B, T = ids.shape
    x = w[pre + "wte.weight"][ids] + w[pre + "wpe.weight"][torch.arange(T)]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(L):
        p = f"{pre}h.{i}."
        a = F.layer_norm(x, (C,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        q, k, v = (a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (z.view(B, T, H, C // H).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(C // H)
        att = att.masked_fill(~causal, torch.finfo(att.dtype).min).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = F.layer_norm(x, (C,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        x = x + gelu_new(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]) @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (C,), w[pre + "ln_f.weight"], w[pre + "ln_f.bias"], eps)
    return x @ w.get("lm_head.weight", w[pre + "wte.weight"]).t()

# ---- modeling_llama.py (and Mistral, Qwen2)

def rms_norm(x, weight, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))

def inv_freq_of(c, dim):
    # _compute_default_rope_parameters, then _compute_llama3_parameters / _compute_linear_scaling_rope_parameters
    base = c.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    rs = c.get("rope_scaling")
    kind = rs and rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        inv_freq = inv_freq / rs["factor"]
    elif kind == "llama3":
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_freq_llama / factor + smooth * inv_freq_llama
        is_medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
        inv_freq = torch.where(is_medium, smoothed, inv_freq_llama)
    elif kind not in (None, "default"):
        raise ValueError(kind)
    return inv_freq

def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)

def repeat_kv(h, n_rep):
    b, kv, t, d = h.shape
    return h if n_rep == 1 else h[:, :, None, :, :].expand(b, kv, n_rep, t, d).reshape(b, kv * n_rep, t, d)

def llama_logits(family, c, w, ids):
    C, L, H = c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"]
    KV, D, eps = c.get("num_key_value_heads") or H, C // H, c.get("rms_norm_eps", 1e-6)
    B, T = ids.shape
    pos = torch.arange(T)
    freqs = (inv_freq_of(c, D)[None, :, None].float() @ pos[None, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]          # [1, 1, T, D]
    window = c.get("sliding_window") if family == "mistral" or c.get("use_sliding_window") else None
    visible = pos[None, :] <= pos[:, None]
    if window:
        visible &= pos[None, :] > pos[:, None] - window
    x = w["model.embed_tokens.weight"][ids]
    for i in range(L):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        proj = lambda name: h @ w[p + f"self_attn.{name}.weight"].t() + w.get(p + f"self_attn.{name}.bias", 0)
        q = proj("q_proj").view(B, T, H, D).transpose(1, 2)
        k = proj("k_proj").view(B, T, KV, D).transpose(1, 2)
        v = proj("v_proj").view(B, T, KV, D).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = repeat_kv(k, H // KV), repeat_kv(v, H // KV)
        att = (q @ k.transpose(2, 3)) / math.sqrt(D)
        att = att.masked_fill(~visible, torch.finfo(att.dtype).min).softmax(-1, dtype=torch.float32)
        o = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + o @ w[p + "self_attn.o_proj.weight"].t()
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        x = x + (F.silu(h @ w[p + "mlp.gate_proj.weight"].t()) * (h @ w[p + "mlp.up_proj.weight"].t())) @ w[p + "mlp.down_proj.weight"].t()
    x = rms_norm(x, w["model.norm.weight"], eps)
    return x @ w.get("lm_head.weight", w["model.embed_tokens.weight"]).t()

def logits_of(config, weights, ids):
    family = config["model_type"]
    return gpt2_logits(config, weights, ids) if family == "gpt2" else llama_logits(family, config, weights, ids)

def main():
    req = json.load(sys.stdin)
    if req["mode"] == "make":
        make(req)
    config, weights = read_folder(req["dir"])
    logits = logits_of(config, weights, torch.tensor(req["ids"]))
    print(json.dumps({"logits": logits.flatten().tolist()}))

if __name__ == "__main__":  # peft_lora_reference.py imports the functions
    main()
