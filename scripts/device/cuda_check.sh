#!/usr/bin/env bash
# Runs on the GPU machine (device tool), from the repository root, over what scripts/device/
# prepare_carry.sh put in .devcarry/. It builds nothing. The default model (94 MiB) is larger than
# one call may carry (64 MiB), so the check runs in two calls on the same warm machine:
#   phase 1 (.devcarry/model.part1 present): nvidia-smi, unpack the bundle, stash it and the first
#            half of the model under build-cuda-stash/ (ignored, so kept between calls), run the
#            CUDA kernel tests;
#   phase 2 (.devcarry/model.part2 present): join the model (sha256 checked), kernel tests again
#            (a result that moves between runs is a race), the CUDA-vs-CPU model test,
#            `tandem generate --device cuda` against `--device cpu`, `tandem serve --device cuda`
#            answering one completion, the timing table of the default model, then (unless
#            TANDEM_SKIP_8B=1) a random-weight Llama-3-8B-shaped checkpoint made here with torch
#            (gen_llama8b_shape.py), its timing table with f32 and bf16 KV caches, and Tandem's
#            greedy tokens and first-step logits on it against transformers (hf_compare.py,
#            tandem_cuda_hf_check) (tables last).
# Phase 8b (prepare_carry.sh 8b: bundle and scripts, no default model): one call running the
# kernel tests and the Llama-3-8B-shape steps only.
# TANDEM_OPS_ONCE=1 skips phase 2's kernel tests; TANDEM_ONLY_8B=1 in phase 2 skips the
# default-model steps (model test, generate, serve, bench).
# Full logs go to $OUT; a summary table is printed at the end.
set -uo pipefail
# Run from the repository root (the device tool starts there).
OUT=${OUT:-/tmp/tandem-out}
tmp=$(mktemp -d)
mkdir -p "$OUT"
carry=${TANDEM_CARRY:-.devcarry}  # phase 2 may come from another folder (prepared ahead: the machine stays warm ~30 s)
stash=build-cuda-stash
export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
declare -a summary=()
note() { summary+=("$(printf '%-44s %s' "$1" "$2")"); }
step() {  # step NAME LOG cmd...: runs cmd, logs to $OUT/LOG, records PASS/FAIL
  local name=$1 log=$2
  shift 2
  echo "=== $name"
  local t0=$SECONDS
  "$@" > "$OUT/$log" 2>&1
  local rc=$?
  tail -n 25 "$OUT/$log"
  note "$name" "$([[ $rc == 0 ]] && echo PASS || echo "FAIL (rc $rc)") $((SECONDS - t0)) s, log $log"
  return $rc
}

if [[ -f $carry/model.part1 ]]; then
  phase=1
elif [[ -f $carry/model.part2 ]]; then
  phase=2
elif [[ -f $carry/bundle.tar.xz && -f $carry/gen_llama8b_shape.py ]]; then
  phase=8b  # one call, no default model: kernel tests and the Llama-3-8B-shape checks
else
  echo "cuda_check.sh: neither $carry/model.part1 nor $carry/model.part2 is here; run prepare_carry.sh first"
  exit 2
fi
echo "cuda_check.sh phase $phase on $(hostname), $(date -u +%FT%TZ)"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
head -n 15 "$OUT/nvidia-smi.txt"

if [[ $phase == 1 || $phase == 8b ]]; then
  rm -rf "$stash"
  mkdir -p "$stash/models"
  tar -xf "$carry/bundle.tar.xz" -C "$stash"
fi
if [[ $phase == 1 ]]; then
  cp "$carry/model.part1" "$stash/model.part1"
  cp "$carry/model.sha256" "$stash/model.sha256"
fi
bin=$stash/bundle/bin
if [[ ! -x $bin/tandem ]]; then
  echo "cuda_check.sh: $bin/tandem is missing: phase 2 landed on a fresh machine (the warm one from"
  echo "phase 1 was given back). Run phase 1 and phase 2 again back to back."
  exit 3
fi
# Missing libraries show up here rather than as a cryptic loader error later.
for b in "$bin"/*; do
  if ldd "$b" | grep -q "not found"; then
    echo "cuda_check.sh: $b has unresolved libraries:"
    ldd "$b" | grep "not found"
  fi
done

export TANDEM_MODEL_DIR=$PWD/$stash/models
# TANDEM_OPS_ONCE=1: phase 2 skips the second kernel-test run (about 100 s; a race shows as a
# result that moves between the two runs, so keep both when kernels changed since the last check).
if [[ $phase != 2 || ${TANDEM_OPS_ONCE:-0} != 1 ]]; then
  step "kernel tests (tandem_cuda_ops_test) #$phase" "ops_test_$phase.log" "$bin/tandem_cuda_ops_test" --gtest_color=no
fi

if [[ $phase == 2 ]]; then
  model=$TANDEM_MODEL_DIR/SmolLM2-135M-Instruct.Q4_1.gguf
  cat "$stash/model.part1" "$carry/model.part2" > "$model"
  if [[ "$(sha256sum "$model" | cut -d' ' -f1)" != "$(cut -d' ' -f1 "$stash/model.sha256")" ]]; then
    echo "cuda_check.sh: the joined model does not match its sha256; parts from different runs?"
    exit 4
  fi
fi
if [[ $phase == 2 && ${TANDEM_ONLY_8B:-0} != 1 ]]; then
  step "model test CUDA vs CPU (tandem_cuda_model_test)" model_test.log "$bin/tandem_cuda_model_test" --gtest_color=no
  grep -E "^(cuda|free running)" "$OUT/model_test.log" | head -n 40

  prompts=("The capital of France is" "Once upon a time, in a small village by the sea," "The three primary colors are"
           "Photosynthesis is the process by which" "Q: What is 17 times 3? A:" "def fibonacci(n):"
           "List of planets in the solar system: Mercury, Venus," "The best way to learn a language is")
  pargs=()
  for p in "${prompts[@]}"; do pargs+=(--prompt "$p"); done
  step "tandem generate --device cuda (8 x 32 greedy)" generate.log \
    "$bin/tandem" generate --device cuda --kv-slots 4096 -n 32 -t 0 --ignore-eos "${pargs[@]}"
  cp "$OUT/generate.log" "$tmp/cuda.log"
  step "tandem generate --device cpu (same prompts)" generate.log \
    "$bin/tandem" generate --device cpu --kv-slots 4096 -n 32 -t 0 --ignore-eos "${pargs[@]}"
  cp "$OUT/generate.log" "$tmp/cpu.log"
  grep -v -E "requests:|backend:|^model:|^  |\] \[info\] " "$tmp/cuda.log" > "$tmp/gen_cuda.txt"
  grep -v -E "requests:|backend:|^model:|^  |\] \[info\] " "$tmp/cpu.log" > "$tmp/gen_cpu.txt"
  { echo "##### --device cuda"; cat "$tmp/cuda.log"; echo "##### --device cpu"; cat "$tmp/cpu.log";
    echo "##### diff cpu cuda"; diff "$tmp/gen_cpu.txt" "$tmp/gen_cuda.txt"; } > "$OUT/generate.log"
  if diff -q "$tmp/gen_cpu.txt" "$tmp/gen_cuda.txt" > /dev/null; then
    note "generate: CUDA text == CPU text" "PASS"
  else
    note "generate: CUDA text == CPU text" "DIFFERS (generate.log; the model test gives margins)"
    diff "$tmp/gen_cpu.txt" "$tmp/gen_cuda.txt" | head -n 20
  fi

  # serve: gateway + worker child on the GPU, one completion over HTTP.
  echo "=== tandem serve --device cuda"
  "$bin/tandem" serve --device cuda --port 0 --kv-slots 8192 > "$OUT/serve.log" 2>&1 &
  serve_pid=$!
  url=""
  for _ in $(seq 1 120); do
    url=$(grep -o "http://127.0.0.1:[0-9]*" "$OUT/serve.log" | head -n 1)
    [[ -n $url ]] && break
    sleep 0.5
  done
  # Listening comes before the gateway has the worker's model info: wait until it says ready.
  for _ in $(seq 1 120); do
    [[ -n $url && $(curl -s -o /dev/null -w '%{http_code}' -m 2 "$url/readiness") == 200 ]] && break
    sleep 0.5
  done
  if [[ -n $url ]] && curl -s -m 60 "$url/v1/completions" -H 'Content-Type: application/json' \
       -d '{"model":"default","prompt":"The capital of France is","max_tokens":16,"temperature":0}' \
       > "$tmp/completion.json" && grep -q '"text"' "$tmp/completion.json"; then
    note "tandem serve --device cuda: completion" "PASS"
  else
    note "tandem serve --device cuda: completion" "FAIL (serve.log)"
  fi
  head -c 600 "$tmp/completion.json" 2>/dev/null; echo
  kill "$serve_pid" 2>/dev/null
  wait "$serve_pid" 2>/dev/null
  { echo "##### completion"; cat "$tmp/completion.json" 2>/dev/null; echo; } >> "$OUT/serve.log"
  tail -n 5 "$OUT/serve.log"

  step "timing (tandem_cuda_bench)" bench.log timeout 240 "$bin/tandem_cuda_bench" "$model"
fi
if [[ $phase == 2 || $phase == 8b ]]; then
  # Llama-3-8B shape, random bf16 weights made here with torch (timing only).
  if [[ ${TANDEM_SKIP_8B:-0} != 1 && -f $carry/gen_llama8b_shape.py ]]; then
    ck=/tmp/llama8b-shape
    step "generate Llama-3-8B-shaped checkpoint" gen_8b.log python3 "$carry/gen_llama8b_shape.py" "$ck" &&
      step "timing, Llama-3-8B shape (tandem_cuda_bench)" bench_8b.log timeout 300 "$bin/tandem_cuda_bench" "$ck" both
    [[ -f $ck/model.safetensors && -f $carry/hf_compare.py ]] &&
      step "Llama-3-8B shape: Tandem vs transformers (hf_compare.py)" hf_compare.log \
        timeout 300 python3 "$carry/hf_compare.py" "$ck" "$bin/tandem_cuda_hf_check" "$tmp/hf" --kv bf16
    rm -rf "$ck"
  fi
fi

echo
echo "=== summary (phase $phase; logs in \$OUT: $(ls "$OUT" | tr '\n' ' '))"
printf '%s\n' "${summary[@]}"
if [[ $phase != 1 ]]; then
  echo
  [[ -f $OUT/bench.log ]] && sed -n '/=== CUDA timing table/,$p' "$OUT/bench.log"
  [[ -f $OUT/bench_8b.log ]] && echo && sed -n '/=== CUDA timing table/,$p' "$OUT/bench_8b.log"
  [[ -f $OUT/hf_compare.log ]] && echo && grep -A 12 "prompt len" "$OUT/hf_compare.log" | grep -v "Loading weights"
fi
