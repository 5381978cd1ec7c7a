#!/usr/bin/env python3
"""Peer measurement: llama.cpp decode speed on a GGUF, single stream and batched.

Measures what BM_DecodeStep in kernels_bench.cc measures for Tandem's kernels: the time of one
decode step (one new token for each of `batch` sequences that each hold `ctx` tokens of context),
with the same thread count. Needs `pip install llama-cpp-python` (builds llama.cpp from source).

    python bench/micro/llama_cpp_decode.py --model PATH --threads 2 --batch 1 8 32 --ctx 512
"""
import argparse
import os
import time

import llama_cpp as L


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/tandem/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--steps", type=int, default=32)
    args = ap.parse_args()

    L.llama_backend_init()
    quiet = L.llama_log_callback(lambda level, text, user: None)  # keep a reference: C holds it
    L.llama_log_set(quiet, None)
    model = L.llama_model_load_from_file(args.model.encode(), L.llama_model_default_params())
    print(f"llama-cpp-python {L.__version__}, threads {args.threads}, context {args.ctx}")
    for batch in args.batch:
        cp = L.llama_context_default_params()
        cp.n_ctx = batch * (args.ctx + args.steps + 16)
        cp.n_batch = max(512, batch)
        cp.n_ubatch = max(512, batch)
        cp.n_seq_max = batch
        cp.n_threads = args.threads
        cp.n_threads_batch = args.threads
        if hasattr(cp, "kv_unified"):
            cp.kv_unified = True
        ctx = L.llama_init_from_model(model, cp)
        b = L.llama_batch_init(max(512, batch), 0, batch)

        def add(tok, pos, seq, logits):
            i = b.n_tokens
            b.token[i] = tok
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq
            b.logits[i] = logits
            b.n_tokens += 1

        # Context of sequence 0, copied to the others.
        for start in range(0, args.ctx, 512):
            b.n_tokens = 0
            for p in range(start, min(args.ctx, start + 512)):
                add(100 + p % 1000, p, 0, p == args.ctx - 1)
            assert L.llama_decode(ctx, b) == 0
        mem = L.llama_get_memory(ctx)
        for s in range(1, batch):
            L.llama_memory_seq_cp(mem, 0, s, -1, -1)
        times = []
        for step in range(args.steps):
            b.n_tokens = 0
            for s in range(batch):
                add(200 + s, args.ctx + step, s, True)
            t0 = time.perf_counter()
            assert L.llama_decode(ctx, b) == 0
            times.append(time.perf_counter() - t0)
        times.sort()
        med = times[len(times) // 2]
        print(f"batch {batch:3d}: step median {med * 1e3:8.2f} ms, {batch / med:9.1f} tokens/s "
              f"(best {batch / times[0]:9.1f})")
        L.llama_batch_free(b)
        L.llama_free(ctx)
    L.llama_model_free(model)


if __name__ == "__main__":
    main()
