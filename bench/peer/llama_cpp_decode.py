#!/usr/bin/env python3
"""llama.cpp decode throughput on the default model: the CPU peer for Tandem's engine numbers.

    llama_cpp_decode.py [--model PATH] [--threads 2] [--runs 3] [--batches 1,8,32]

Two measurements, both through llama-cpp-python's low-level API (one llama_decode per step, no
sampler chain: greedy argmax over the returned logits, as a serving engine's fast path would):
  single stream: a ~16-token prompt, then 128 greedy tokens decoded one at a time; tokens/s over
                 the 128 decode steps only (prompt excluded), median of --runs runs;
  batched:       B sequences with distinct seq ids and distinct ~16-token prompts, all prompts
                 prefilled first, then 64 steps each decoding one token per sequence in a single
                 llama_batch; total generated tokens/s (B * 64 / time of the 64 steps).
Prints one JSON line (machine, date, load average, versions, numbers). Python overhead per step is
an argmax over the vocab and filling a batch: small next to a forward pass of even this model.
"""
import argparse
import ctypes
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

import llama_cpp as L

PROMPT = "The old lighthouse keeper wrote in his logbook every evening, and tonight he wrote"
SINGLE_TOKENS = 128
BATCH_STEPS = 64
MAX_PROMPT = 32
# Module-level so the ctypes thunk outlives every call llama.cpp makes into it.
_QUIET_LOG = L.llama_log_callback(lambda level, text, user: None)


def default_model():
    d = os.environ.get("TANDEM_MODEL_DIR") or os.path.join(
        os.environ.get("TANDEM_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tandem"), "models")
    return os.path.join(d, "SmolLM2-135M-Instruct.Q4_1.gguf")


class Engine:
    """One model and one context sized for `max_seqs` sequences of up to `seq_len` tokens."""

    def __init__(self, model_path, threads, max_seqs, seq_len):
        mp = L.llama_model_default_params()
        self.model = L.llama_model_load_from_file(model_path.encode(), mp)
        if not self.model:
            raise SystemExit(f"llama.cpp could not load {model_path}")
        cp = L.llama_context_default_params()
        cp.n_ctx = max_seqs * seq_len
        # Room for every sequence's prompt (<= MAX_PROMPT tokens) in one batch.
        self.capacity = max(512, max_seqs * MAX_PROMPT)
        cp.n_batch = cp.n_ubatch = self.capacity
        cp.n_seq_max = max_seqs
        cp.n_threads = cp.n_threads_batch = threads
        cp.no_perf = True
        self.ctx = L.llama_init_from_model(self.model, cp)
        if not self.ctx:
            raise SystemExit(f"llama.cpp could not create a context with n_ctx={cp.n_ctx}")
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)
        self.batch = L.llama_batch_init(self.capacity, 0, 1)

    def tokenize(self, text):
        buf = (L.llama_token * 512)()
        n = L.llama_tokenize(self.vocab, text.encode(), len(text.encode()), buf, 512, False, False)
        if n < 0:
            raise SystemExit(f"prompt needs {-n} tokens, buffer has 512")
        return list(buf[:n])

    def clear(self):
        L.llama_memory_clear(L.llama_get_memory(self.ctx), True)

    def decode(self, entries):
        """entries: (token, pos, seq_id, want_logits). Returns logits [n_outputs, n_vocab]."""
        if len(entries) > self.capacity:
            raise SystemExit(f"batch of {len(entries)} tokens exceeds capacity {self.capacity}")
        b = self.batch
        b.n_tokens = len(entries)
        n_out = 0
        for i, (tok, pos, seq, out) in enumerate(entries):
            b.token[i], b.pos[i], b.n_seq_id[i] = tok, pos, 1
            b.seq_id[i][0] = seq
            b.logits[i] = out
            n_out += int(out)
        rc = L.llama_decode(self.ctx, b)
        if rc != 0:
            raise SystemExit(f"llama_decode returned {rc} for a batch of {len(entries)} tokens")
        ptr = L.llama_get_logits(self.ctx)
        flat = np.ctypeslib.as_array(ptr, shape=(n_out * self.n_vocab,))
        return flat.reshape(n_out, self.n_vocab)


def single_stream(eng, prompt, n_tokens):
    eng.clear()
    logits = eng.decode([(t, p, 0, p == len(prompt) - 1) for p, t in enumerate(prompt)])
    tok, pos = int(np.argmax(logits[0])), len(prompt)
    start = time.perf_counter()
    for _ in range(n_tokens):
        tok = int(np.argmax(eng.decode([(tok, pos, 0, True)])[0]))
        pos += 1
    return n_tokens / (time.perf_counter() - start)


def batched(eng, prompt, n_seqs, steps):
    eng.clear()
    # Distinct prompts per sequence: rotate the prompt so no two sequences are identical.
    prompts = [prompt[s % len(prompt):] + prompt[:s % len(prompt)] for s in range(n_seqs)]
    entries = [(t, p, s, p == len(pr) - 1)
               for s, pr in enumerate(prompts) for p, t in enumerate(pr)]
    # All prompts in one llama_decode; outputs come back in batch order, i.e. one row per seq.
    toks = np.argmax(eng.decode(entries), axis=1)
    pos = len(prompt)
    start = time.perf_counter()
    for _ in range(steps):
        logits = eng.decode([(int(toks[s]), pos, s, True) for s in range(n_seqs)])
        toks = np.argmax(logits, axis=1)
        pos += 1
    return n_seqs * steps / (time.perf_counter() - start)


LOAD_AT_START = [round(x, 2) for x in os.getloadavg()]


def main():
    ap = argparse.ArgumentParser(description="llama.cpp decode throughput peer")
    ap.add_argument("--model", default=default_model())
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--tokens", type=int, default=SINGLE_TOKENS, help="single-stream decode tokens")
    ap.add_argument("--steps", type=int, default=BATCH_STEPS, help="batched decode steps")
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    L.llama_backend_init()
    L.llama_log_set(_QUIET_LOG, ctypes.c_void_p(0))
    eng = Engine(args.model, args.threads, max(batches), MAX_PROMPT + max(args.tokens, args.steps))
    prompt = eng.tokenize(PROMPT)
    if len(prompt) > MAX_PROMPT:
        raise SystemExit(f"prompt has {len(prompt)} tokens, at most {MAX_PROMPT} fit the batch")
    single_stream(eng, prompt, 16)  # warm-up: page in weights, build graphs
    runs = [single_stream(eng, prompt, args.tokens) for _ in range(args.runs)]
    batch_tps = {str(b): round(batched(eng, prompt, b, args.steps), 2) for b in batches}
    with open(args.model, "rb") as f:
        sha = hashlib.file_digest(f, "sha256").hexdigest()
    print(json.dumps({
        "peer": "llama.cpp via llama-cpp-python",
        "llama_cpp_python": importlib.metadata.version("llama_cpp_python"),
        "system_info": L.llama_print_system_info().decode().strip(),
        "model": os.path.basename(args.model), "model_sha256": sha,
        "threads": args.threads, "prompt_tokens": len(prompt),
        "single_stream_tok_s": round(statistics.median(runs), 2),
        "single_stream_runs_tok_s": [round(r, 2) for r in runs],
        "single_stream_tokens": args.tokens,
        "batched_tok_s": batch_tps, "batched_steps": args.steps,
        "omp_env": {k: v for k, v in os.environ.items() if k.startswith(("OMP_", "GOMP_"))},
        "loadavg_at_start": LOAD_AT_START,
        "machine": platform.node(), "cpu": _cpu_model(), "cpus": os.cpu_count(),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
    }))


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
