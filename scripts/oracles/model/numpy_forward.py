"""An independent float64 numpy forward pass for the random HF checkpoints.

It exists to check the oracle: transformers is the reference, but a reference that silently read a
config key differently from what we meant (head_dim, rope_scaling, tied embeddings, qkv bias) would
make every downstream comparison wrong. make_refs.py requires transformers and this file to agree
before it writes anything. The safetensors reader here is also hand-written, so the checkpoint
format gets a second reader besides the safetensors package.

Written from the model definitions (RMSNorm, rotate-half RoPE with optional llama3 frequency
scaling, causal GQA attention, SwiGLU MLP), not from any library's code.
"""
import json
import math
import os
import struct

import numpy as np


def read_safetensors(path):
    """name -> float64 array; supports the F32, F16 and BF16 dtypes the generator writes."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        raw = data[base + begin:base + end]
        if meta["dtype"] == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif meta["dtype"] == "F16":
            a = np.frombuffer(raw, dtype="<f2")
        elif meta["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: tensor {name} has dtype {meta['dtype']}, "
                             "expected F32, F16 or BF16")
        out[name] = a.astype(np.float64).reshape(meta["shape"])
    return out


def rope_inv_freq(cfg, head_dim):
    theta = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    if kind == "default":
        return inv
    if kind != "llama3":
        raise ValueError(f"rope_type {kind} not implemented in the numpy reference")
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old_ctx = rs["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv
    # Long wavelengths (low frequencies) are slowed down by `factor`, short ones kept, and the band
    # in between interpolated linearly in old_ctx / wavelen.
    smooth = (old_ctx / wavelen - lo) / (hi - lo)
    scaled = np.where(wavelen > old_ctx / lo, inv / factor, inv)
    medium = (wavelen >= old_ctx / hi) & (wavelen <= old_ctx / lo)
    return np.where(medium, (1 - smooth) * inv / factor + smooth * inv, scaled)


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def apply_rope(x, cos, sin):
    """x: [T, heads, hd]; rotate-half convention (first half pairs with second half)."""
    half = x.shape[-1] // 2
    rot = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos[:, None, :] + rot * sin[:, None, :]


class NumpyModel:
    def __init__(self, ckpt_dir):
        with open(os.path.join(ckpt_dir, "config.json")) as f:
            self.cfg = json.load(f)
        self.w = read_safetensors(os.path.join(ckpt_dir, "model.safetensors"))
        c = self.cfg
        self.nh, self.nkv = c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = c.get("head_dim") or c["hidden_size"] // self.nh
        self.eps = c["rms_norm_eps"]
        self.inv_freq = rope_inv_freq(c, self.hd)
        self.lm_head = self.w.get("lm_head.weight", self.w["model.embed_tokens.weight"])
        if c.get("tie_word_embeddings") and "lm_head.weight" in self.w:
            raise ValueError("tied config but lm_head.weight present")

    def _lin(self, name, x):
        y = x @ self.w[name + ".weight"].T
        b = self.w.get(name + ".bias")
        return y if b is None else y + b

    def logits(self, ids):
        """Logits [T, vocab] for all positions of one sequence (positions 0..T-1)."""
        w, T = self.w, len(ids)
        x = w["model.embed_tokens.weight"][np.asarray(ids)]
        ang = np.arange(T, dtype=np.float64)[:, None] * self.inv_freq[None, :]
        cos = np.concatenate([np.cos(ang)] * 2, axis=-1)
        sin = np.concatenate([np.sin(ang)] * 2, axis=-1)
        mask = np.triu(np.full((T, T), -np.inf), k=1)
        group = self.nh // self.nkv
        for i in range(self.cfg["num_hidden_layers"]):
            p = f"model.layers.{i}."
            h = rms_norm(x, w[p + "input_layernorm.weight"], self.eps)
            q = self._lin(p + "self_attn.q_proj", h).reshape(T, self.nh, self.hd)
            k = self._lin(p + "self_attn.k_proj", h).reshape(T, self.nkv, self.hd)
            v = self._lin(p + "self_attn.v_proj", h).reshape(T, self.nkv, self.hd)
            if p + "self_attn.q_norm.weight" in w:
                q = rms_norm(q, w[p + "self_attn.q_norm.weight"], self.eps)
                k = rms_norm(k, w[p + "self_attn.k_norm.weight"], self.eps)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            out = np.empty((T, self.nh, self.hd))
            for hh in range(self.nh):
                kv = hh // group
                s = q[:, hh, :] @ k[:, kv, :].T / math.sqrt(self.hd) + mask
                s = np.exp(s - s.max(axis=-1, keepdims=True))
                out[:, hh, :] = (s / s.sum(axis=-1, keepdims=True)) @ v[:, kv, :]
            x = x + self._lin(p + "self_attn.o_proj", out.reshape(T, -1))
            h = rms_norm(x, w[p + "post_attention_layernorm.weight"], self.eps)
            g = self._lin(p + "mlp.gate_proj", h)
            act = g / (1 + np.exp(-g)) * self._lin(p + "mlp.up_proj", h)  # silu(gate) * up
            x = x + self._lin(p + "mlp.down_proj", act)
        return rms_norm(x, w["model.norm.weight"], self.eps) @ self.lm_head.T
