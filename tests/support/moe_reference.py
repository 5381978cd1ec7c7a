"""A numpy forward of the checkpoints scripts/gen_moe_checkpoint.py writes (Qwen3-MoE / Qwen2-MoE
semantics, float64), independent of Tandem: the oracle of tests/e2e/test_moe.py."""
import json
import os

import numpy as np
from safetensors.numpy import load_file


class MoeReference:
    def __init__(self, path):
        with open(os.path.join(path, "config.json")) as f:
            self.c = json.load(f)
        self.w = {k: v.astype(np.float64) for k, v in load_file(os.path.join(path, "model.safetensors")).items()}

    def rms(self, x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.c["rms_norm_eps"]) * w

    def rope(self, x, pos):  # x [T, heads, hd], rotate_half layout
        hd = x.shape[-1]
        inv = 1.0 / (self.c["rope_theta"] ** (np.arange(0, hd, 2) / hd))
        ang = pos[:, None] * inv[None, :]
        cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))
        rot = np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1)
        return x * cos[:, None, :] + rot * sin[:, None, :]

    def mlp(self, x, p):
        g, u = x @ self.w[p + "gate_proj.weight"].T, x @ self.w[p + "up_proj.weight"].T
        return (g / (1 + np.exp(-g)) * u) @ self.w[p + "down_proj.weight"].T

    def logits(self, ids):
        c, w = self.c, self.w
        T, H = len(ids), c["hidden_size"]
        nh, nkv, hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        qwen3 = c["model_type"] == "qwen3_moe"
        x = w["model.embed_tokens.weight"][ids]
        pos = np.arange(T, dtype=np.float64)
        mask = np.triu(np.full((T, T), -np.inf), 1)
        for l in range(c["num_hidden_layers"]):
            p = f"model.layers.{l}."
            h = self.rms(x, w[p + "input_layernorm.weight"])
            q, k, v = (h @ w[p + f"self_attn.{n}_proj.weight"].T for n in "qkv")
            if not qwen3:
                q, k, v = (t + w[p + f"self_attn.{n}_proj.bias"] for t, n in zip((q, k, v), "qkv"))
            q, k, v = q.reshape(T, nh, hd), k.reshape(T, nkv, hd), v.reshape(T, nkv, hd)
            if qwen3:
                q, k = self.rms(q, w[p + "self_attn.q_norm.weight"]), self.rms(k, w[p + "self_attn.k_norm.weight"])
            q, k = self.rope(q, pos), self.rope(k, pos)
            rep = nh // nkv
            k, v = np.repeat(k, rep, 1), np.repeat(v, rep, 1)
            s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = np.einsum("hts,shd->thd", s, v).reshape(T, nh * hd)
            x = x + a @ w[p + "self_attn.o_proj.weight"].T
            h = self.rms(x, w[p + "post_attention_layernorm.weight"])
            z = h @ w[p + "mlp.gate.weight"].T
            prob = np.exp(z - z.max(-1, keepdims=True))
            prob /= prob.sum(-1, keepdims=True)
            k_top = c["num_experts_per_tok"]
            out = np.zeros_like(h)
            for t in range(T):
                top = sorted(range(len(z[t])), key=lambda e: (-z[t][e], e))[:k_top]
                wt = prob[t, top]
                if c["norm_topk_prob"]:
                    wt = wt / wt.sum()
                for e, we in zip(top, wt):
                    out[t] += we * self.mlp(h[t:t + 1], p + f"mlp.experts.{e}.")[0]
            if c.get("shared_expert_intermediate_size", 0):
                gate = 1 / (1 + np.exp(-(h @ w[p + "mlp.shared_expert_gate.weight"].T)))
                out += gate * self.mlp(h, p + "mlp.shared_expert.")
            x = x + out
        return self.rms(x, w["model.norm.weight"]) @ w["lm_head.weight"].T

    def greedy(self, ids, n):
        ids = list(ids)
        out, margins = [], []
        for _ in range(n):
            z = self.logits(ids)[-1]
            top2 = np.sort(z)[-2:]
            margins.append(top2[1] - top2[0])
            out.append(int(np.argmax(z)))
            ids.append(out[-1])
        return out, margins
