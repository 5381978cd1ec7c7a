#!/usr/bin/env python3
"""Turns bench/scheduler_compare.sh's outputs into the markdown tables for docs/benchmarks.md."""
import json
import os
import sys


def jsonl(out_dir, name):
    return [json.loads(l) for l in open(os.path.join(out_dir, name)) if l.strip()]


def main(out_dir, model):
    mem = json.load(open(os.path.join(out_dir, "membw.json")))
    read_gbps = max(b["read_GBps"] for b in mem["benchmarks"] if "read_GBps" in b)
    roofline = read_gbps * 1e9 / os.path.getsize(model)
    static = {r["batch"]: r for r in jsonl(out_dir, "static_decode.jsonl")}
    print(f"memory read {read_gbps:.1f} GB/s => batch-1 decode roofline {roofline:.0f} tok/s\n")
    print("**Throughput by concurrency** (closed loop, 2×C requests of 128 prompt + 64 output tokens, greedy)\n")
    print("| concurrency | output tok/s | total tok/s | mean TTFT s | mean TPOT ms | static-batch decode tok/s | engine / static |")
    print("|---|---|---|---|---|---|---|")
    for r in jsonl(out_dir, "throughput.jsonl"):
        s = static.get(r["concurrency"], {}).get("tok_per_s_median")
        ratio = f"{r['output_tok_s'] / s:.2f}" if s else ""
        print(f"| {r['concurrency']} | {r['output_tok_s']:.1f} | {r['total_tok_s']:.1f} | {r['ttft_mean_s']:.3f} | "
              f"{r['tpot_mean_ms']:.1f} | {s or float('nan'):.1f} | {ratio} |")
    print("\n(static-batch decode = the model alone decoding a fixed batch, no scheduler, prefill excluded; "
          "the engine's output rate includes prefill and TTFT, so it stays below it.)\n")
    print("**Shared prefix** (16 groups × 8 requests, 512-token shared prefix + 16 unique tokens, 16 output tokens, all at once)\n")
    print("| prefix cache | wall s | total tok/s | mean TTFT s | p50 TTFT s | prompt tokens from cache | hit rate |")
    print("|---|---|---|---|---|---|---|")
    rows = jsonl(out_dir, "shared_prefix.jsonl")
    for r in rows:
        print(f"| {'on' if r['prefix_cache'] else 'off'} | {r['wall_s']:.1f} | {r['total_tok_s']:.0f} | "
              f"{r['ttft_mean_s']:.2f} | {r['ttft_p50_s']:.2f} | {r['cached_prompt_tokens']} / {r['prompt_tokens']} | "
              f"{r['cache_hit_rate']:.2f} |")
    on = next(r for r in rows if r["prefix_cache"])
    off = next(r for r in rows if not r["prefix_cache"])
    print(f"\ncache on vs off: {off['wall_s'] / on['wall_s']:.1f}× faster, TTFT {off['ttft_mean_s'] / on['ttft_mean_s']:.1f}× lower\n")
    print("**Decode latency while long prompts arrive** (8 streams decoding; 4 prompts of 1536 tokens, one per second)\n")
    print("| chunked prefill size | inter-token gaps | mean ms | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for r in jsonl(out_dir, "tpot.jsonl"):
        print(f"| {r['chunked_prefill_size']} | {r['gaps']} | {r['itl_mean_ms']:.1f} | {r['itl_p50_ms']:.1f} | "
              f"{r['itl_p99_ms']:.1f} | {r['itl_max_ms']:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
