#!/usr/bin/env bash
# Decode-attention check on the GPU machine (device tool), from the repository root, over what
# scripts/device/prepare_attn_carry.sh put in its folder (.devcarry-attn/). Builds nothing. Steps, each
# time-boxed, full logs in $OUT, summary and tables last:
#   1. the CUDA kernel tests (all of tandem_cuda_ops_test, or TANDEM_OPS_FILTER);
#   2. decode attention alone on the Llama-3-8B shape, per-(row, head) kernel ("legacy") against
#      the GQA kernels ("registers", "pipelined"), batch 1/32/128/256 at context 1K and 2K
#      (TANDEM_BENCH_ATTN=1);
#   3. a random-weight Llama-3-8B-shaped checkpoint (gen_llama8b_shape.py, torch) and its decode
#      steps at context 1K, batch 1/32/128/256, captured graphs, each kernel in one process;
#   4. when model.part1 is carried: the bundle and that half of the default model are stashed
#      under build-attn-stash/ (ignored, kept on a warm machine); when model.part2 is carried
#      (the next call, right after): the model is joined and tandem_cuda_model_test runs.
# TANDEM_SKIP_8B=1 skips step 3; TANDEM_ONLY_MODEL=1 runs only step 4.
set -uo pipefail
OUT=${OUT:-/tmp/tandem-out}
mkdir -p "$OUT"
carry=$(dirname "${BASH_SOURCE[0]}")  # .devcarry-attn (or a second carry folder)
stash=build-attn-stash
export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
declare -a summary=()
note() { summary+=("$(printf '%-52s %s' "$1" "$2")"); }
step() {  # step NAME LOG cmd...: runs cmd, logs to $OUT/LOG, records PASS/FAIL and seconds
  local name=$1 log=$2
  shift 2
  echo "=== $name"
  local t0=$SECONDS
  "$@" > "$OUT/$log" 2>&1
  local rc=$?
  tail -n 12 "$OUT/$log"
  note "$name" "$([[ $rc == 0 ]] && echo PASS || echo "FAIL (rc $rc)") $((SECONDS - t0)) s, log $log"
  return $rc
}
echo "attn_check.sh on $(hostname), $(date -u +%FT%TZ)"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem --format=csv | tee "$OUT/nvidia-smi.txt"
command -v nsys ncu | tee -a "$OUT/nvidia-smi.txt"

if [[ -f $carry/bundle.tar.gz ]]; then
  rm -rf "$stash"
  mkdir -p "$stash/models"
  tar -xzf "$carry/bundle.tar.gz" -C "$stash"
fi
bin=$stash/bundle/bin
if [[ ! -x $bin/tandem_cuda_bench ]]; then
  echo "attn_check.sh: $bin is missing (a fresh machine without the bundle): carry bundle.tar.gz"
  exit 3
fi
[[ -f $carry/model.part1 ]] && cp "$carry/model.part1" "$carry/model.sha256" "$stash/"

if [[ ${TANDEM_ONLY_MODEL:-0} != 1 ]]; then
  step "kernel tests (tandem_cuda_ops_test ${TANDEM_OPS_FILTER:-all})" ops_test.log timeout 200 \
    "$bin/tandem_cuda_ops_test" --gtest_color=no --gtest_filter="${TANDEM_OPS_FILTER:-*}"
  grep -E "^\[  (FAILED|PASSED|     OK) |rel error .*e-0[0-3]" "$OUT/ops_test.log" | head -n 40
  step "decode attention alone, 3 kernels" attn_bench.log timeout 90 \
    env TANDEM_BENCH_ATTN=1 TANDEM_BENCH_VARIANTS=legacy,registers,pipelined "$bin/tandem_cuda_bench"
  if [[ ${TANDEM_SKIP_8B:-0} != 1 ]]; then
    ck=/tmp/llama8b-shape
    [[ -f $ck/model.safetensors ]] ||
      step "generate Llama-3-8B-shaped checkpoint" gen_8b.log timeout 150 python3 "$carry/gen_llama8b_shape.py" "$ck"
    step "decode steps, 8B shape, ctx 1K, by kernel" bench_8b.log timeout "${TANDEM_8B_TIMEOUT:-240}" \
      env TANDEM_BENCH_CTX=1024 TANDEM_BENCH_BATCHES=${TANDEM_BENCH_BATCHES:-1,32,128,256} \
      TANDEM_BENCH_VARIANTS=${TANDEM_BENCH_VARIANTS:-legacy,registers,pipelined} TANDEM_BENCH_PREFILL=${TANDEM_BENCH_PREFILL:-0} TANDEM_BENCH_PLAIN=0 \
      "$bin/tandem_cuda_bench" "$ck" bf16
  fi
fi
if [[ -f $carry/model.part2 ]]; then
  export TANDEM_MODEL_DIR=$PWD/$stash/models
  model=$TANDEM_MODEL_DIR/SmolLM2-135M-Instruct.Q4_1.gguf
  if [[ -f $stash/model.part1 ]]; then
    cat "$stash/model.part1" "$carry/model.part2" > "$model"
    if [[ "$(sha256sum "$model" | cut -d' ' -f1)" == "$(cut -d' ' -f1 "$stash/model.sha256")" ]]; then
      step "model test CUDA vs CPU (tandem_cuda_model_test)" model_test.log timeout 200 \
        "$bin/tandem_cuda_model_test" --gtest_color=no
      grep -E "^(cuda|free running|captured)|^\[  (FAILED|PASSED) " "$OUT/model_test.log" | head -n 30
    else
      note "model test" "NOT RUN: joined model sha256 differs"
    fi
  else
    note "model test" "NOT RUN: model.part1 not stashed (machine was not warm)"
  fi
fi

echo
echo "=== summary (logs in \$OUT: $(ls "$OUT" | tr '\n' ' '))"
printf '%s\n' "${summary[@]}"
[[ -f $OUT/attn_bench.log ]] && echo && sed -n '/=== decode attention alone/,$p' "$OUT/attn_bench.log"
[[ -f $OUT/bench_8b.log ]] && echo && sed -n '/=== CUDA timing table/,$p' "$OUT/bench_8b.log"
exit 0
