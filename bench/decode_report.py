#!/usr/bin/env python3
"""Turns bench/decode_compare.sh's outputs into the markdown table for docs/benchmarks.md."""
import json
import os
import sys


def main(out_dir, model):
    mem = json.load(open(os.path.join(out_dir, "membw.json")))
    read_gbps = max(b["read_GBps"] for b in mem["benchmarks"] if "read_GBps" in b)  # GB/s
    model_bytes = os.path.getsize(model)  # every weight is read once per decode step (tied LM head included)
    roofline = read_gbps * 1e9 / model_bytes

    def load_jsonl(name):
        return {r["batch"]: r for r in (json.loads(l) for l in open(os.path.join(out_dir, name)) if l.strip())}

    ours = load_jsonl("tandem.jsonl")
    ours1 = load_jsonl("tandem_int8x1.jsonl")
    peer = json.load(open(os.path.join(out_dir, "llama_cpp.json")))
    print(f"memory read bandwidth {read_gbps:.1f} GB/s; model {model_bytes / 1e6:.1f} MB per decode step "
          f"=> batch-1 roofline {roofline:.0f} tok/s; llama-cpp-python {peer['llama_cpp_python']}, "
          f"{peer['threads']} threads\n")
    print("| batch | Tandem tok/s (2-level int8) | Tandem tok/s (1-level int8) | llama.cpp tok/s | Tandem / llama.cpp | batch-1 roofline share |")
    print("|---|---|---|---|---|---|")
    for b in sorted(ours):
        p = peer["single_stream_tok_s"] if b == 1 and "1" not in peer["batched_tok_s"] else peer["batched_tok_s"].get(str(b))
        t, t1 = ours[b]["tok_per_s_median"], ours1.get(b, {}).get("tok_per_s_median", float("nan"))
        share = f"{t / roofline:.0%}" if b == 1 else ""
        print(f"| {b} | {t:.1f} | {t1:.1f} | {p:.1f} | {t / p:.2f}x | {share} |")
    print(f"\nllama.cpp single stream (128 tokens): {peer['single_stream_tok_s']:.1f} tok/s; "
          f"Tandem batch-32 / batch-1: {ours[max(ours)]['tok_per_s_median'] / ours[min(ours)]['tok_per_s_median']:.1f}x")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
