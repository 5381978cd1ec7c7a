#!/usr/bin/env bash
# Issue #2's side-by-side decode benchmark on this machine: the memory-read roofline, Tandem's
# engine and llama.cpp (llama-cpp-python, same GGUF, same thread count), in one run.
#   bash bench/decode_compare.sh            # THREADS=2 by default; results under bench/results/
# Needs a build (scripts/build.sh). The peer is installed into .venv-bench on first use (it builds
# llama.cpp from source: ~12 minutes on 2 cores). Run on an otherwise idle machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../scripts/env.sh"
threads="${THREADS:-2}"
out="${OUT_DIR:-$TANDEM_ROOT/bench/results/decode-$(date -u +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
peer_venv="${TANDEM_BENCH_VENV:-$TANDEM_ROOT/.venv-bench}"
if [[ ! -x "$peer_venv/bin/python" ]] || ! "$peer_venv/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  python3 -m venv "$peer_venv"
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_CURL=OFF" \
    "$peer_venv/bin/pip" install -q -r "$TANDEM_ROOT/bench/peer/requirements.txt"
fi
model="$("$TANDEM_ROOT/scripts/fetch_model.sh")"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cpus; load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/machine.txt"
echo "commit: $(git -C "$TANDEM_ROOT" rev-parse --short HEAD)" | tee -a "$out/machine.txt"
TANDEM_BENCH_THREADS="$threads" "$TANDEM_BUILD_DIR/bench/micro/tandem_bench_kernels" \
  --benchmark_filter='BM_MemoryRead' --benchmark_format=json --benchmark_min_time=1 > "$out/membw.json"
"$TANDEM_BUILD_DIR/bench/engine/tandem_bench_decode" --model "$model" --threads "$threads" --steps 64 --repeats 3 \
  | tee "$out/tandem.jsonl"
TANDEM_CPU_ACT_LEVELS=1 "$TANDEM_BUILD_DIR/bench/engine/tandem_bench_decode" --model "$model" --threads "$threads" \
  --steps 64 --repeats 3 | sed 's/"engine": "tandem"/"engine": "tandem-int8x1"/' | tee "$out/tandem_int8x1.jsonl"
"$peer_venv/bin/python" "$TANDEM_ROOT/bench/peer/llama_cpp_decode.py" --model "$model" --threads "$threads" \
  | tee "$out/llama_cpp.json"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"
python3 "$here/decode_report.py" "$out" "$model" | tee "$out/report.md"
