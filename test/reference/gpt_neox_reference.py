#!/usr/bin/python3
"""GPT-NeoX reference in PyTorch, written from the architecture (not transformers' code), and the
fixture test/model-gpt-neox.test.ts compares orz against.

For each case it writes test/fixtures/gpt-neox/<case>/: config.json (model_type gpt_neox, pythia's
fields), model.safetensors (float32, Hugging Face names, query_key_value rows in the per-head
[heads, 3, head_dim] layout) and reference.json (ids, positions, key mask and the logits this
implementation computes in float64 from the stored float32 weights).

The definition, per layer (LN = LayerNorm with weight and bias, biased variance, eps):
  qkv = LN1(x) Wqkv^T + b, viewed as [T, heads, 3 * d] and cut into q, k, v of d each
  rotary on the first r = floor(d * rotary_pct) dims of q and k: rotate_half over those r dims
  (dim i with dim i + r/2), angle = position * base^(-2i/r); the other d - r dims pass through
  attn = softmax(q k^T / sqrt(d) + causal/padding mask) v, merged over heads, then dense (+ bias)
  mlp(h) = dense_4h_to_h(gelu(dense_h_to_4h(h)))  (exact erf gelu, biases)
  parallel residual: y = x + attn(LN1 x) + mlp(LN2 x);  sequential: x1 = x + attn(LN1 x), y = x1 + mlp(LN2 x1)
then final LN and the untied embed_out.

Run: /usr/bin/python3 test/reference/gpt_neox_reference.py   (Debian python3-torch; npm test does not need it)
"""

import json
import math
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "gpt-neox")

CASES = {
    "parallel-rotary-0.25": {"use_parallel_residual": True, "rotary_pct": 0.25, "rotary_emb_base": 10000},
    "sequential-rotary-1.0": {"use_parallel_residual": False, "rotary_pct": 1.0, "rotary_emb_base": 100},
}
SIZE = {"vocab_size": 64, "hidden_size": 32, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "max_position_embeddings": 64, "layer_norm_eps": 1e-5}

IDS = [[5, 17, 2, 63, 11, 0, 23], [1, 1, 1, 8, 30, 14, 6]]
MASK = [[1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1]]
POS = [[3, 4, 5, 6, 7, 8, 9], [0, 0, 0, 0, 1, 2, 3]]


def weight_shapes(c):
    H, F, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    shapes = {"gpt_neox.embed_in.weight": [V, H]}
    for l in range(c["num_hidden_layers"]):
        p = f"gpt_neox.layers.{l}"
        for norm in ("input_layernorm", "post_attention_layernorm"):
            shapes[f"{p}.{norm}.weight"] = [H]
            shapes[f"{p}.{norm}.bias"] = [H]
        for name, out_dim, in_dim in (("attention.query_key_value", 3 * H, H), ("attention.dense", H, H),
                                      ("mlp.dense_h_to_4h", F, H), ("mlp.dense_4h_to_h", H, F)):
            shapes[f"{p}.{name}.weight"] = [out_dim, in_dim]
            shapes[f"{p}.{name}.bias"] = [out_dim]
    shapes["gpt_neox.final_layer_norm.weight"] = [H]
    shapes["gpt_neox.final_layer_norm.bias"] = [H]
    shapes["embed_out.weight"] = [V, H]
    return shapes


def random_weights(c, seed):
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in weight_shapes(c).items():
        u = torch.rand(shape, generator=g, dtype=torch.float64)
        w = 0.6 + 0.8 * u if name.endswith("layernorm.weight") or name.endswith("final_layer_norm.weight") else (u * 2 - 1) * 0.3
        out[name] = w.to(torch.float32)
    return out


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def rotary(x, pos, r, base):
    """x [T, heads, d]; rotates dims < r in pairs (i, i + r/2) by pos * base^(-2i/r)."""
    half = r // 2
    inv_freq = base ** (-(2 * torch.arange(half, dtype=torch.float64)) / r)
    angle = pos[:, None].to(torch.float64) * inv_freq[None, :]  # [T, half]
    cos, sin = torch.cos(angle)[:, None, :], torch.sin(angle)[:, None, :]
    a, b, rest = x[..., :half], x[..., half:r], x[..., r:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin, rest], dim=-1)


def gelu(z):
    return 0.5 * z * (1 + torch.erf(z / math.sqrt(2)))


def forward(c, W, ids, pos, mask):
    """Logits [T, V] of one row, in float64."""
    w = {k: v.to(torch.float64) for k, v in W.items()}
    H, nh = c["hidden_size"], c["num_attention_heads"]
    d = H // nh
    r = int(d * c["rotary_pct"])
    eps = c["layer_norm_eps"]
    T = len(ids)
    ids_t, pos_t, mask_t = torch.tensor(ids), torch.tensor(pos), torch.tensor(mask, dtype=torch.bool)
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool)) & mask_t[None, :]
    x = w["gpt_neox.embed_in.weight"][ids_t]
    for l in range(c["num_hidden_layers"]):
        p = f"gpt_neox.layers.{l}"
        lin = lambda name, h: h @ w[f"{p}.{name}.weight"].T + w[f"{p}.{name}.bias"]

        def attention(h):
            qkv = lin("attention.query_key_value", h).view(T, nh, 3 * d)
            q, k, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
            q, k = rotary(q, pos_t, r, c["rotary_emb_base"]), rotary(k, pos_t, r, c["rotary_emb_base"])
            scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(d)
            scores = scores.masked_fill(~allowed[None], float("-inf"))
            probs = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # a padding query sees no key
            o = torch.einsum("hts,shd->thd", probs, v).reshape(T, H)
            return lin("attention.dense", o)

        mlp = lambda h: lin("mlp.dense_4h_to_h", gelu(lin("mlp.dense_h_to_4h", h)))
        ln1 = lambda h: layer_norm(h, w[f"{p}.input_layernorm.weight"], w[f"{p}.input_layernorm.bias"], eps)
        ln2 = lambda h: layer_norm(h, w[f"{p}.post_attention_layernorm.weight"], w[f"{p}.post_attention_layernorm.bias"], eps)
        if c["use_parallel_residual"]:
            x = x + attention(ln1(x)) + mlp(ln2(x))
        else:
            x = x + attention(ln1(x))
            x = x + mlp(ln2(x))
    h = layer_norm(x, w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"], eps)
    return h @ w["embed_out.weight"].T


def write_safetensors(path, tensors):
    """The safetensors layout: u64 header length, JSON header, then the raw little-endian data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    for seed, (case, extra) in enumerate(CASES.items(), start=1):
        c = {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "hidden_act": "gelu",
             "bos_token_id": 0, "eos_token_id": 0, "tie_word_embeddings": False, "torch_dtype": "float32",
             **SIZE, **extra}
        W = random_weights(c, seed)
        logits = [forward(c, W, IDS[b], POS[b], MASK[b]).tolist() for b in range(len(IDS))]
        out = os.path.join(OUT, case)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(c, f, indent=2)
        write_safetensors(os.path.join(out, "model.safetensors"), W)
        with open(os.path.join(out, "reference.json"), "w") as f:
            json.dump({"torch": torch.__version__, "ids": IDS, "positions": POS, "key_mask": MASK,
                       "logits": [[[round(v, 7) for v in row] for row in rows] for rows in logits]}, f)
        print(f"{out}: {sum(t.numel() for t in W.values())} parameters")


if __name__ == "__main__":
    main()
