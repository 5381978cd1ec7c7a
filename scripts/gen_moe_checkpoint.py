#!/usr/bin/env python3
"""Writes a small random-weight mixture-of-experts checkpoint as a Hugging Face directory, for the
MoE / expert-parallel tests (issue #7). Deterministic per --seed; numpy + safetensors only.

  qwen3_moe (default): Qwen3-MoE layout (qk-norm, router top-k renormalised, no shared expert)
  --shared-expert:     Qwen2-MoE layout (qkv bias, a sigmoid-gated shared expert, no renormalisation)

The tokenizer is byte-level BPE over the 256 bytes (no merges) plus ChatML specials, so any text
encodes; vocab is padded to a multiple of 16."""
import argparse
import json
import os

import numpy as np
from safetensors.numpy import save_file


def bytes_to_unicode():
    """GPT-2's printable stand-ins for the 256 byte values (byte-level BPE's alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
                 "+ '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
                 "{% endif %}")


def write_tokenizer(out, pad_to=0):
    """pad_to: fill ids up to pad_to with plain '<|reserved_N|>' tokens (a tokenizer for any model
    whose vocabulary is that large, e.g. the 8B-shaped timing checkpoint)."""
    table = bytes_to_unicode()
    vocab = {table[b]: b for b in range(256)}
    added = []
    for i, s in enumerate(SPECIALS):
        vocab[s] = 256 + i
        added.append({"id": 256 + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True})
    for i in range(256 + len(SPECIALS), pad_to):
        vocab[f"<|reserved_{i}|>"] = i
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": []},
    }
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|im_end|>",
                   "pad_token": "<|endoftext|>", "bos_token": None, "chat_template": CHAT_TEMPLATE,
                   "add_bos_token": False, "model_max_length": 4096}, f)
    return 256 + len(SPECIALS)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shared-expert", action="store_true")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--experts", type=int, default=8)
    ap.add_argument("--top-k", type=int, default=2)
    ap.add_argument("--expert-size", type=int, default=32)
    ap.add_argument("--tokenizer-only", type=int, metavar="VOCAB", default=0,
                    help="write just the tokenizer files, padded to VOCAB ids, into OUT")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.tokenizer_only:
        write_tokenizer(a.out, a.tokenizer_only)
        return
    rng = np.random.default_rng(a.seed)
    n_tok = write_tokenizer(a.out)
    vocab = (n_tok + 15) // 16 * 16
    H, L, E, F = a.hidden, a.layers, a.experts, a.expert_size
    heads, kv_heads, hd = 4, 2, 16
    qwen2 = a.shared_expert
    cfg = {
        "architectures": ["Qwen2MoeForCausalLM" if qwen2 else "Qwen3MoeForCausalLM"],
        "model_type": "qwen2_moe" if qwen2 else "qwen3_moe",
        "vocab_size": vocab, "hidden_size": H, "intermediate_size": 2 * F, "num_hidden_layers": L,
        "num_attention_heads": heads, "num_key_value_heads": kv_heads, "head_dim": hd,
        "max_position_embeddings": 2048, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
        "tie_word_embeddings": False, "num_experts": E, "num_experts_per_tok": a.top_k,
        "moe_intermediate_size": F, "norm_topk_prob": not qwen2, "decoder_sparse_step": 1,
        "mlp_only_layers": [], "torch_dtype": "float32", "bos_token_id": None, "eos_token_id": 258,
        "attention_bias": False, "use_sliding_window": False,
    }
    if qwen2:
        cfg["shared_expert_intermediate_size"] = 2 * F
        del cfg["attention_bias"]
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)

    def mat(rows, cols, scale=1.0):
        return (rng.standard_normal((rows, cols)) * scale / np.sqrt(cols)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    w = {"model.embed_tokens.weight": rng.standard_normal((vocab, H)).astype(np.float32),
         "lm_head.weight": mat(vocab, H, 2.0), "model.norm.weight": norm(H)}
    for l in range(L):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = norm(H)
        w[p + "post_attention_layernorm.weight"] = norm(H)
        w[p + "self_attn.q_proj.weight"] = mat(heads * hd, H)
        w[p + "self_attn.k_proj.weight"] = mat(kv_heads * hd, H)
        w[p + "self_attn.v_proj.weight"] = mat(kv_heads * hd, H)
        w[p + "self_attn.o_proj.weight"] = mat(H, heads * hd)
        if qwen2:
            for n, d in (("q", heads * hd), ("k", kv_heads * hd), ("v", kv_heads * hd)):
                w[p + f"self_attn.{n}_proj.bias"] = (0.1 * rng.standard_normal(d)).astype(np.float32)
        else:
            w[p + "self_attn.q_norm.weight"] = norm(hd)
            w[p + "self_attn.k_norm.weight"] = norm(hd)
        w[p + "mlp.gate.weight"] = mat(E, H, 3.0)  # peaked enough that routing is not a coin toss
        for e in range(E):
            x = p + f"mlp.experts.{e}."
            w[x + "gate_proj.weight"] = mat(F, H)
            w[x + "up_proj.weight"] = mat(F, H)
            w[x + "down_proj.weight"] = mat(H, F)
        if qwen2:
            x = p + "mlp.shared_expert."
            w[x + "gate_proj.weight"] = mat(2 * F, H)
            w[x + "up_proj.weight"] = mat(2 * F, H)
            w[x + "down_proj.weight"] = mat(H, 2 * F)
            w[p + "mlp.shared_expert_gate.weight"] = mat(1, H)
    save_file(w, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    print(f"wrote {a.out}: {cfg['model_type']} {L} layers, {E} experts top-{a.top_k}, vocab {vocab}")


if __name__ == "__main__":
    main()
