#!/usr/bin/env python3
"""Regenerate the SmolLM2 tokenizer.json files the C++ tokenizer tests read (too large to commit).

    python scripts/oracles/tokenizer/gen_smollm2_tokenizers.py [--gguf PATH] [--out DIR]

DIR defaults to $TANDEM_TEST_GEN_DIR/tokenizer, else build/generated/tokenizer. Needs only the
packages in requirements.txt (no torch): the GGUF metadata is read with `gguf`, the vocabulary is
converted by transformers' own GGUF tokenizer converter, and `tokenizers` writes the files.

Variants (same vocabulary and merges, different pre-tokenizers/added tokens), one folder each:
  smollm2         the real thing: Digits(individual) + ByteLevel regex. transformers' converter
                  does not know tokenizer.ggml.pre "smollm" and falls back to plain GPT-2 splitting,
                  which merges digit runs; the original SmolLM2 tokenizer.json (and llama.cpp's
                  "smollm" pre-tokenizer) split every digit apart, so the pre-tokenizer is patched.
  smollm2_gpt2    ByteLevel regex only (GGUF pre "gpt-2"/"default").
  smollm2_llama3  Llama-3's Split regex + ByteLevel(use_regex=false), ignore_merges (GGUF "llama-bpe").
  smollm2_qwen2   Qwen2's Split regex + NFC normalizer (GGUF "qwen2").
  smollm2_flags   extra added tokens with lstrip/rstrip/single_word/normalized flags and a
                  TemplateProcessing post-processor that adds BOS/EOS (tokenizer.json-only features).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DEFAULT_GGUF = Path(os.environ.get("TANDEM_MODEL_DIR", Path.home() / ".cache/tandem/models")) / \
    "SmolLM2-135M-Instruct.Q4_1.gguf"

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def default_out_dir() -> Path:
    gen = os.environ.get("TANDEM_TEST_GEN_DIR")
    if gen:
        return Path(gen) / "tokenizer"
    build = os.environ.get("TANDEM_BUILD_DIR", str(REPO / "build"))
    return Path(build) / "generated" / "tokenizer"


def read_gguf_tokenizer(path: Path) -> tuple[dict, dict]:
    """(tokenizer_dict in the shape transformers' converter expects, extra metadata)."""
    import gguf

    reader = gguf.GGUFReader(str(path))

    def get(key, default=None):
        field = reader.fields.get(key)
        return default if field is None else field.contents()

    d = {
        "tokenizer_type": get("tokenizer.ggml.model"),
        "pre_tokenizer_type": get("tokenizer.ggml.pre"),
        "tokens": get("tokenizer.ggml.tokens"),
        "token_type": get("tokenizer.ggml.token_type"),
        "merges": get("tokenizer.ggml.merges"),
    }
    d = {k: v for k, v in d.items() if v is not None}
    extra = {
        "bos_token_id": get("tokenizer.ggml.bos_token_id"),
        "eos_token_id": get("tokenizer.ggml.eos_token_id"),
        "unk_token_id": get("tokenizer.ggml.unknown_token_id"),
        "pad_token_id": get("tokenizer.ggml.padding_token_id"),
        "add_bos_token": get("tokenizer.ggml.add_bos_token", False),
        "add_eos_token": get("tokenizer.ggml.add_eos_token", False),
        "chat_template": get("tokenizer.chat_template"),
        "architecture": get("general.architecture"),
    }
    return d, extra


def base_tokenizer(gguf_path: Path):
    from transformers.integrations.gguf.gguf_tokenizer_mapping import convert_gguf_tokenizer

    tok_dict, extra = read_gguf_tokenizer(gguf_path)
    if tok_dict.get("pre_tokenizer_type") != "smollm":
        sys.exit(f"expected tokenizer.ggml.pre 'smollm' in {gguf_path}, got {tok_dict.get('pre_tokenizer_type')!r}")
    backend, _ = convert_gguf_tokenizer(extra["architecture"], tok_dict)
    return backend, tok_dict, extra


def config_for(extra: dict, tokens: list[str]) -> dict:
    def name(key):
        i = extra.get(key)
        return tokens[i] if i is not None else None

    cfg = {
        "bos_token": name("bos_token_id"),
        "eos_token": name("eos_token_id"),
        "unk_token": name("unk_token_id"),
        "pad_token": name("pad_token_id"),
        "add_bos_token": bool(extra["add_bos_token"]),
        "add_eos_token": bool(extra["add_eos_token"]),
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    if extra.get("chat_template"):
        cfg["chat_template"] = extra["chat_template"]
    return cfg


def write_variant(out: Path, name: str, tok, cfg: dict) -> None:
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    tok.save(str(d / "tokenizer.json"))
    (d / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", type=Path, default=DEFAULT_GGUF)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or default_out_dir()
    if not args.gguf.exists():
        sys.exit(f"GGUF not found: {args.gguf} (run scripts/fetch_model.sh)")

    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors

    t0 = time.time()
    backend, tok_dict, extra = base_tokenizer(args.gguf)
    tokens = tok_dict["tokens"]
    base_json = backend.to_str()
    cfg = config_for(extra, tokens)

    def fresh() -> Tokenizer:
        return Tokenizer.from_str(base_json)

    t = fresh()
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    t.decoder = decoders.ByteLevel()
    write_variant(out, "smollm2", t, cfg)

    t = fresh()
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    write_variant(out, "smollm2_gpt2", t, cfg)

    t = fresh()
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    j = json.loads(t.to_str())
    j["model"]["ignore_merges"] = True
    write_variant(out, "smollm2_llama3", Tokenizer.from_str(json.dumps(j)), cfg)

    t = fresh()
    t.normalizer = normalizers.NFC()
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    write_variant(out, "smollm2_qwen2", t, cfg)

    t = fresh()
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    t.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    t.add_tokens([
        AddedToken("[RS]", rstrip=True, normalized=False),
        AddedToken("lonely", single_word=True, normalized=False),
        AddedToken("<both>", lstrip=True, rstrip=True, normalized=False),
        AddedToken("new token", normalized=True),
        AddedToken("<|im_start|>x", normalized=False),  # longest match must beat <|im_start|>
    ])
    t.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A <|im_end|>", pair="<|endoftext|> $A <|im_end|> $B:1",
        special_tokens=[("<|endoftext|>", 0), ("<|im_end|>", 2)])
    flags_cfg = dict(cfg, bos_token="<|endoftext|>")
    flags_cfg.pop("add_bos_token")
    flags_cfg.pop("add_eos_token")
    flags_cfg["chat_template"] = [{"name": "default", "template": "{{ 'flags-default' }}"},
                                  {"name": "tool_use", "template": "{{ 'flags-tools' }}"}]
    write_variant(out, "smollm2_flags", t, flags_cfg)

    print(f"wrote 5 tokenizer variants to {out} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
