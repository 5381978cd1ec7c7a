#!/usr/bin/env bash
# Issue #3's serving-engine benchmarks on this machine, in one run: the scheduler-driven engine
# (tandem_bench_scheduler: throughput by concurrency, shared prefix with the prefix cache on/off,
# decode latency while long prompts arrive, with and without chunked prefill) next to the static
# batched decode of the same model (tandem_bench_decode, no scheduler: the ceiling continuous
# batching can reach) and the memory-read roofline.
#   bash bench/scheduler_compare.sh     # THREADS=2 by default; results under bench/results/
# Needs a build (scripts/build.sh). Run on an otherwise idle machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../scripts/env.sh"
threads="${THREADS:-2}"
out="${OUT_DIR:-$TANDEM_ROOT/bench/results/scheduler-$(date -u +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
model="$("$TANDEM_ROOT/scripts/fetch_model.sh")"
bin="$TANDEM_BUILD_DIR/bench/engine"
{
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cpus; load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git -C "$TANDEM_ROOT" rev-parse --short HEAD)"
  echo "date: $(date -u +%Y-%m-%d)"
} | tee "$out/machine.txt"
TANDEM_BENCH_THREADS="$threads" "$TANDEM_BUILD_DIR/bench/micro/tandem_bench_kernels" \
  --benchmark_filter='BM_MemoryRead' --benchmark_format=json --benchmark_min_time=1 > "$out/membw.json"
"$bin/tandem_bench_decode" --model "$model" --threads "$threads" --batch 1,8,32,64 --steps 64 \
  --prompt-len 128 --repeats 1 | tee "$out/static_decode.jsonl"
"$bin/tandem_bench_scheduler" --model "$model" --threads "$threads" --workload throughput \
  --concurrency 1,8,32,64 --prompt-len 128 --output-len 64 | tee "$out/throughput.jsonl"
"$bin/tandem_bench_scheduler" --model "$model" --threads "$threads" --workload shared-prefix \
  --groups 16 --per-group 8 --prefix-len 512 | tee "$out/shared_prefix.jsonl"
"$bin/tandem_bench_scheduler" --model "$model" --threads "$threads" --workload tpot \
  --streams 8 --long-prompts 4 --long-len 1536 --chunk 256 | tee "$out/tpot.jsonl"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"
python3 "$here/scheduler_report.py" "$out" "$model" | tee "$out/report.md"
