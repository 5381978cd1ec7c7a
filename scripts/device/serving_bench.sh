#!/usr/bin/env bash
# Runs on the GPU machine (device tool), from the repository root, over what
#   scripts/device/prepare_carry.sh serving BUILD_DIR
# put in .devcarry/ (the bundle, gen_llama8b_shape.py, a SmolLM2 tokenizer.json: the random
# checkpoint has none, and only the random dataset's id pool and the gateway need one; its 49152
# ids are all valid for the 128256-entry model). Builds nothing. Steps, each time-boxed so one call
# (600 s) always reaches the summary:
#   1. the random-weight Llama-3-8B-shaped bf16 checkpoint (gen_llama8b_shape.py);
#   2. decode step time at context 1K, batch 1 / 32 / 128, bf16 KV (tandem_cuda_bench);
#   3. `tandem serve --device cuda` on it; single-stream output tok/s (1024 in / 1024 out,
#      max-concurrency 1), then offline throughput: random 1024 in / 1024 out, ignore_eos,
#      all requests at once (TANDEM_SERVING_PROMPTS, default 1000), GPU utilisation sampled by
#      nvidia-smi and the worker's per-thread CPU use sampled by top during the run (where the
#      time goes: a GPU that idles while the engine thread sits at 100% is host-bound).
# Full logs go to $OUT; the summary is printed last.
set -uo pipefail
OUT=${OUT:-/tmp/tandem-out}
mkdir -p "$OUT"
t_start=$SECONDS
deadline=${TANDEM_DEADLINE_S:-570}  # leave the device tool time to ship $OUT back
left() { echo $((deadline - (SECONDS - t_start))); }
carry=.devcarry
stash=build-cuda-stash
export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
declare -a summary=()
note() { summary+=("$(printf '%-52s %s' "$1" "$2")"); }
step() {  # step NAME LOG TIMEOUT cmd...
  local name=$1 log=$2 limit=$3
  shift 3
  echo "=== $name (limit ${limit}s)"
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$log" 2>&1
  local rc=$?
  tail -n 30 "$OUT/$log"
  note "$name" "$([[ $rc == 0 ]] && echo PASS || echo "FAIL (rc $rc)") $((SECONDS - t0)) s, log $log"
  return $rc
}
echo "serving_bench.sh on $(hostname), $(date -u +%FT%TZ)"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
head -n 12 "$OUT/nvidia-smi.txt"
rm -rf "$stash"
mkdir -p "$stash"
tar -xf "$carry/bundle.tar.xz" -C "$stash"
bin=$stash/bundle/bin
for b in "$bin"/*; do
  ldd "$b" | grep "not found" && echo "serving_bench.sh: $b has unresolved libraries"
done

ck=/tmp/llama8b-shape
# Made by a previous call on this warm machine (tp_worker_check.sh) when it is there.
[[ -f $ck/config.json ]] || step "generate Llama-3-8B-shaped checkpoint" gen_8b.log 200 python3 "$carry/gen_llama8b_shape.py" "$ck"
# A byte-level tokenizer padded to the model's 128256 ids (bench prompts travel as token ids).
python3 "$carry/gen_moe_checkpoint.py" "$ck" --tokenizer-only 128256

# Kernel tests first when the bundle has them (prepare_carry.sh serving includes them): the device
# sampler and every other op against the reference.
[[ ${TANDEM_SKIP_OPS:-0} != 1 && -x $bin/tandem_cuda_ops_test ]] && step "kernel tests (tandem_cuda_ops_test)" ops_test.log 300 \
  "$bin/tandem_cuda_ops_test" --gtest_color=no

[[ ${TANDEM_SKIP_DECODE_TABLE:-0} == 1 ]] || TANDEM_BENCH_CTX=1024 TANDEM_BENCH_BATCHES=${TANDEM_BENCH_BATCHES:-1,32,128} \
  step "decode step, context 1K (tandem_cuda_bench bf16)" bench_8b.log 150 "$bin/tandem_cuda_bench" "$ck" bf16

# bf16 KV: 2 x 32 layers x 1024 x 2 B = 128 KiB per token. --kv-slots 0 (the default) sizes the
# cache from --mem-fraction 0.85 of the GPU after the 16 GB of weights: ~400K slots on an H100,
# ~800K on an H200 (256 requests of 2048 tokens need 524K). TANDEM_KV_SLOTS overrides.
slots=${TANDEM_KV_SLOTS:-0}
running=${TANDEM_MAX_RUNNING:-256}
"$bin/tandem" serve --device cuda --model "$ck" --port 0 --kv-slots "$slots" \
  --max-running-requests "$running" --max-concurrent-requests 100000 --queue-timeout 3600 \
  > "$OUT/serve.log" 2>&1 &
serve_pid=$!
url=""
for _ in $(seq 1 240); do
  url=$(grep -o "http://127.0.0.1:[0-9]*" "$OUT/serve.log" | head -n 1)
  [[ -n $url ]] && break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.5
done
for _ in $(seq 1 120); do  # listening comes before the gateway has the worker's model info
  [[ -n $url && $(curl -s -o /dev/null -w '%{http_code}' -m 2 "$url/readiness") == 200 ]] && break
  sleep 0.5
done
if [[ -z $url ]]; then
  note "tandem serve --device cuda (8B shape)" "FAIL: no URL (serve.log)"
  tail -n 30 "$OUT/serve.log"
else
  note "tandem serve --device cuda (8B shape)" "up at $url after $((SECONDS - t_start)) s"
  common=(bench serving --backend openai-completions --base-url "$url" --tokenizer "$ck"
          --dataset-name random --random-input-len 1024 --random-output-len 1024
          --random-range-ratio 1 --disable-progress)
  step "single stream: 1024 in / 1024 out, 2 requests" single.log 60 \
    "$bin/tandem" "${common[@]}" --num-prompts 2 --max-concurrency 1 --output-file "$OUT/single.json"
  prompts=${TANDEM_SERVING_PROMPTS:-1000}
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -lms 1000 \
    > "$OUT/gpu_util.csv" 2>&1 &
  smi_pid=$!
  worker_pids=$(pgrep -P "$serve_pid" | tr '\n' ' ')
  (for _ in $(seq 1 60); do
     sleep 5
     for p in $serve_pid $worker_pids; do top -H -b -n 1 -p "$p" | sed -n '7,14p'; done
     echo "--- $(date -u +%T)"
   done) > "$OUT/threads_top.txt" 2>&1 &
  top_pid=$!
  limit=$(( $(left) - 20 ))
  step "offline: $prompts x (1024 in / 1024 out), rate inf" offline.log "$limit" \
    "$bin/tandem" "${common[@]}" --num-prompts "$prompts" --request-rate inf \
    --output-file "$OUT/offline.json"
  kill "$smi_pid" "$top_pid" 2>/dev/null
  kill "$serve_pid" 2>/dev/null
  wait "$serve_pid" 2>/dev/null
  awk -F', ' 'NR > 1 {gsub(/ %/, "", $2); s += $2; n++} END {if (n) printf "GPU utilisation during offline run: mean %.0f%% over %d samples\n", s / n, n}' \
    "$OUT/gpu_util.csv" | tee "$OUT/gpu_util_summary.txt"
fi

echo
echo "=== summary (logs in \$OUT: $(ls "$OUT" | tr '\n' ' '))"
printf '%s\n' "${summary[@]}"
[[ -f $OUT/bench_8b.log ]] && echo && sed -n '/=== CUDA timing table/,$p' "$OUT/bench_8b.log"
for f in single offline; do
  [[ -f $OUT/$f.log ]] && echo && echo "##### $f" && grep -iE "throughput|TTFT|ITL|TPOT|E2E|duration|completed|failed|tok/s" "$OUT/$f.log" | head -n 30
done
[[ -f $OUT/gpu_util_summary.txt ]] && cat "$OUT/gpu_util_summary.txt"
[[ -f $OUT/threads_top.txt ]] && echo && echo "##### busiest threads (last sample)" && tail -n 20 "$OUT/threads_top.txt"
exit 0
