#!/usr/bin/env python3
"""Regenerates the model reference data in tests/data/refs/ (schema: tests/data/refs/README.md).

    make_refs.py [--only random|gguf] [--arch qwen3 ...] [--out tests/data/refs]
    make_refs.py --search-seeds 8 [--arch qwen3]   # list greedy margins per seed, write nothing

random: tiny random-weight HF checkpoints (scripts/gen_random_checkpoint.py) run through
        transformers float32, cross-checked against a float64 numpy forward.
gguf:   the default model (SmolLM2-135M-Instruct Q4_1) through transformers (dequantized weights)
        and llama.cpp (llama-cpp-python), with how close the two are to each other.
Needs torch, transformers, gguf, numpy, safetensors and, for gguf, llama-cpp-python.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ARCHS = ("qwen3", "qwen2", "llama")


def default_model_path():
    # Same lookup order as tests/support/test_paths.h.
    if os.environ.get("TANDEM_MODEL_DIR"):
        d = os.environ["TANDEM_MODEL_DIR"]
    elif os.environ.get("TANDEM_HOME"):
        d = os.path.join(os.environ["TANDEM_HOME"], "models")
    elif os.environ.get("XDG_CACHE_HOME"):
        d = os.path.join(os.environ["XDG_CACHE_HOME"], "tandem", "models")
    else:
        d = os.path.join(os.path.expanduser("~"), ".cache", "tandem", "models")
    return os.path.join(d, "SmolLM2-135M-Instruct.Q4_1.gguf")


def main():
    ap = argparse.ArgumentParser(description="Regenerate tests/data/refs/*.json")
    ap.add_argument("--only", choices=("random", "gguf"))
    ap.add_argument("--arch", action="append", choices=ARCHS, help="random archs (default: all)")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "refs"))
    ap.add_argument("--model", default=default_model_path(), help="GGUF for the gguf refs")
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    ap.add_argument("--search-seeds", type=int, metavar="N",
                    help="report greedy margins for seeds 1..N of the random archs; write nothing")
    args = ap.parse_args()
    archs = args.arch or list(ARCHS)
    os.makedirs(args.out, exist_ok=True)

    import random_refs
    if args.search_seeds:
        for arch in archs:
            random_refs.search_seeds(arch, args.search_seeds)
        return
    if args.only in (None, "random"):
        for arch in archs:
            random_refs.make(arch, args.out)
    if args.only in (None, "gguf"):
        if not os.path.exists(args.model):
            raise SystemExit(f"model {args.model} not found: run scripts/fetch_model.sh "
                             f"or pass --model")
        import gguf_refs
        gguf_refs.make(args.model, args.out, args.threads)


if __name__ == "__main__":
    main()
