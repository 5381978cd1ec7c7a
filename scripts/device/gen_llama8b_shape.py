#!/usr/bin/env python3
"""Writes a random-weight Llama-3-8B-shaped Hugging Face checkpoint (config.json + bf16
model.safetensors, ~16 GB) for GPU timing: 32 layers, hidden 4096, 32 heads / 8 KV heads,
FFN 14336, vocab 128256, llama3 RoPE scaling, untied LM head.

    gen_llama8b_shape.py OUT_DIR [--layers N]

Runs on the GPU machine (torch there; values drawn on the GPU, N(0, 0.02) like an init). Timing
only: the weights carry no meaning, so no reference tokens are recorded.
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=32)
    a = ap.parse_args()
    h, ff, heads, kv_heads, vocab = 4096, 14336, 32, 8, 128256
    hd = h // heads
    cfg = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": h,
        "intermediate_size": ff, "num_hidden_layers": a.layers, "num_attention_heads": heads,
        "num_key_value_heads": kv_heads, "vocab_size": vocab, "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": False,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
        "torch_dtype": "bfloat16", "bos_token_id": 128000, "eos_token_id": 128001,
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    g = torch.Generator(device="cuda").manual_seed(0)

    def rnd(*shape):
        return (torch.randn(*shape, generator=g, device="cuda", dtype=torch.float32) * 0.02).to(torch.bfloat16).cpu()

    t = {"model.embed_tokens.weight": rnd(vocab, h), "lm_head.weight": rnd(vocab, h),
         "model.norm.weight": torch.ones(h, dtype=torch.bfloat16)}
    for i in range(a.layers):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = torch.ones(h, dtype=torch.bfloat16)
        t[p + "post_attention_layernorm.weight"] = torch.ones(h, dtype=torch.bfloat16)
        t[p + "self_attn.q_proj.weight"] = rnd(heads * hd, h)
        t[p + "self_attn.k_proj.weight"] = rnd(kv_heads * hd, h)
        t[p + "self_attn.v_proj.weight"] = rnd(kv_heads * hd, h)
        t[p + "self_attn.o_proj.weight"] = rnd(h, heads * hd)
        t[p + "mlp.gate_proj.weight"] = rnd(ff, h)
        t[p + "mlp.up_proj.weight"] = rnd(ff, h)
        t[p + "mlp.down_proj.weight"] = rnd(h, ff)
    save_file(t, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    n = sum(x.numel() for x in t.values())
    print(f"wrote {a.out}: {n / 1e9:.2f} B parameters")


if __name__ == "__main__":
    main()
