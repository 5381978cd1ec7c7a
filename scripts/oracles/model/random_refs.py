"""Reference outputs for the random-weight checkpoints of scripts/gen_random_checkpoint.py.

For each architecture: regenerate the checkpoint into a temporary folder, run transformers in
float32 on CPU (eager attention) over fixed token-id prompts, cross-check every logit against the
independent numpy forward (numpy_forward.py), check the greedy margins, and write
tests/data/refs/random_<arch>.json. The schema is documented in tests/data/refs/README.md.
"""
import os
import sys
import tempfile

import numpy as np
import torch
from transformers import AutoModelForCausalLM

import numpy_forward
import refs_io

_SCRIPTS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, _SCRIPTS)
import gen_random_checkpoint  # noqa: E402

PROMPT_LENGTHS = (1, 7, 40, 300)  # 300 crosses llama's original_max_position_embeddings (64)
ALL_POSITIONS_PROMPT = 40          # the prompt whose every position gets top-5 recorded
GREEDY_STEPS = 24
MIN_GAP = 1e-2                     # required top1 - top2 logit gap at every greedy step
NUMPY_TOLERANCE = 1e-3             # max |transformers - numpy float64| logit difference allowed


def prompt_ids(arch, length, vocab):
    """Fixed pseudo-random ids in [3, vocab): 0..2 are left for bos/eos/pad-like roles."""
    with np.errstate(over="ignore"):
        idx = np.arange(length, dtype=np.uint64)
        bits = gen_random_checkpoint.splitmix64(
            idx ^ gen_random_checkpoint.tensor_key(0, f"prompt:{arch}:{length}"))
    return [int(3 + b % np.uint64(vocab - 3)) for b in bits]


def top_entries(logits, k):
    ids = refs_io.top_k(logits, k)
    return [int(i) for i in ids], refs_io.logits_list(logits[ids])


def greedy(model, ids, steps):
    """Incremental decode with the KV cache, the way a serving engine runs it."""
    with torch.no_grad():
        out = model(torch.tensor([ids]), use_cache=True)
        tokens, logits_per_step = [], []
        for _ in range(steps):
            last = out.logits[0, -1].double().numpy()
            logits_per_step.append(last)
            tok = int(refs_io.top_k(last, 1)[0])
            tokens.append(tok)
            out = model(torch.tensor([[tok]]), past_key_values=out.past_key_values, use_cache=True)
    return tokens, logits_per_step


def prompt_record(arch, model, ref, ids, name):
    with torch.no_grad():
        full = model(torch.tensor([ids])).logits[0].double().numpy()
    tokens, step_logits = greedy(model, ids, GREEDY_STEPS)
    # The oracle's oracle: float64 numpy over prompt + continuation must agree with both the
    # prefill logits and the cached decode logits, and pick the same greedy tokens.
    np_logits = ref.logits(ids + tokens[:-1])
    decode = np.stack(step_logits)
    diff = max(np.abs(np_logits[:len(ids)] - full).max(),
               np.abs(np_logits[len(ids) - 1:] - decode).max())
    if diff > NUMPY_TOLERANCE:
        raise SystemExit(f"{arch}/{name}: transformers and the numpy reference differ by "
                         f"{diff:.3g} "
                         f"(> {NUMPY_TOLERANCE}); a config key is being read differently")
    gaps = [refs_io.top_gap(s) for s in step_logits]
    rec = {
        "name": name,
        "token_ids": ids,
        "last_logits": refs_io.logits_list(full[-1]),
        "greedy": {
            "tokens": tokens,
            "top5_ids": [top_entries(s, 5)[0] for s in step_logits],
            "top5_logits": [top_entries(s, 5)[1] for s in step_logits],
            "gaps": refs_io.logits_list(gaps),
            "min_gap": round(min(gaps), 5),
            # Shows the continuation is not a degenerate repeat of one token.
            "distinct_tokens": len(set(tokens)),
        },
        "numpy_max_abs_diff": float(f"{diff:.3g}"),
    }
    if len(ids) == ALL_POSITIONS_PROMPT:
        rec["all_positions"] = {
            "top5_ids": [top_entries(row, 5)[0] for row in full],
            "top5_logits": [top_entries(row, 5)[1] for row in full],
            "min_top1_gap": round(min(refs_io.top_gap(row) for row in full), 5),
        }
    return rec, min(gaps)


class GapTooSmall(Exception):
    pass


def make(arch, out_dir, seed=None, write=True):
    """Writes random_<arch>.json (unless write=False) and returns (doc, min greedy gap)."""
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        seed = gen_random_checkpoint.generate(arch, tmp, seed)
        files = {f: refs_io.sha256_file(os.path.join(tmp, f))
                 for f in ("config.json", "model.safetensors")}
        model = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32,
                                                     attn_implementation="eager").eval()
        ref = numpy_forward.NumpyModel(tmp)
        vocab = ref.cfg["vocab_size"]
        prompts, min_gap = [], float("inf")
        for n in PROMPT_LENGTHS:
            rec, gap = prompt_record(arch, model, ref, prompt_ids(arch, n, vocab), f"len{n}")
            prompts.append(rec)
            min_gap = min(min_gap, gap)
    if min_gap < MIN_GAP:
        raise GapTooSmall(f"{arch}: seed {seed} gives a greedy top1-top2 gap of {min_gap:.4g} "
                         f"(< {MIN_GAP}); pick another seed in gen_random_checkpoint.DEFAULT_SEEDS "
                          "(make_refs.py --search-seeds N lists candidates)")
    doc = {
        "schema": "tandem.refs.random_checkpoint/1",
        "generator": {
            "script": "scripts/oracles/model/make_refs.py",
            "checkpoint_script": "scripts/gen_random_checkpoint.py",
            "regenerate_checkpoint":
                f"python3 scripts/gen_random_checkpoint.py --arch {arch} --out DIR",
            "versions": refs_io.package_versions(["torch", "transformers", "numpy", "safetensors"]),
            "compute":
                "transformers float32, CPU, eager attention; cross-checked with numpy float64",
        },
        "arch": arch,
        "seed": seed,
        "files_sha256": files,
        "greedy_steps": GREEDY_STEPS,
        "min_greedy_gap": round(min_gap, 5),
        "prompts": prompts,
    }
    if write:
        path = os.path.join(out_dir, f"random_{arch}.json")
        refs_io.dump(path, doc)
        print(f"{path}: min greedy gap {min_gap:.4g}, numpy max diff "
              f"{max(p['numpy_max_abs_diff'] for p in prompts):.3g}", file=sys.stderr)
    return doc


def search_seeds(arch, count):
    """Prints the minimum greedy gap for seeds 1..count, to pick DEFAULT_SEEDS."""
    for seed in range(1, count + 1):
        try:
            doc = make(arch, None, seed, write=False)
            print(f"{arch} seed {seed}: min greedy gap {doc['min_greedy_gap']}")
        except GapTooSmall as e:
            print(f"{arch} seed {seed}: rejected: {e}")
