# An independent reading of the safetensors format (https://github.com/huggingface/safetensors#format), with
# struct, json and torch only: writes a file for SharpLM to read and reads the file SharpLM wrote.
# stdin: {"write": PATH, "read": PATH}; stdout: {"read": {name: {"dtype", "shape", "values"}}, "metadata": {...}}
import json, struct, sys
import torch

req = json.load(sys.stdin)
DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}

# Written in reverse name order, with a header padded to 8 bytes by spaces, as the Rust library does.
tensors = {
    "z.f32": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4 - 0.5,
    "y.f16": torch.tensor([1.5, -2.25, 65504.0], dtype=torch.float16),
    "x.bf16": torch.tensor([[3.140625, -1e-3], [1e30, 0.0]], dtype=torch.bfloat16),
    "w.i64": torch.tensor([-(2 ** 40), 7], dtype=torch.int64),
    "v.empty": torch.zeros(0, 4, dtype=torch.float32),
}
header, blobs, offset = {"__metadata__": {"format": "pt", "origin": "python"}}, [], 0
for name, t in tensors.items():
    raw = t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""
    header[name] = {"dtype": {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}[t.dtype],
                    "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
    blobs.append(raw)
    offset += len(raw)
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open(req["write"], "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

with open(req["read"], "rb") as f:
    data = f.read()
n = struct.unpack("<Q", data[:8])[0]
meta = json.loads(data[8:8 + n])
body = data[8 + n:]
out = {}
for name, e in meta.items():
    if name == "__metadata__":
        continue
    b, end = e["data_offsets"]
    raw = bytearray(body[b:end])
    t = torch.frombuffer(raw, dtype=DT[e["dtype"]]) if raw else torch.zeros(0, dtype=DT[e["dtype"]])
    t = t.reshape(e["shape"])
    out[name] = {"dtype": e["dtype"], "shape": e["shape"], "values": t.double().flatten().tolist() if e["dtype"] != "I64" else t.flatten().tolist()}
print(json.dumps({"read": out, "metadata": meta.get("__metadata__", {}), "header_length": n}))
