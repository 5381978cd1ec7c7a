#!/usr/bin/env bash
# Runs on a 2-GPU machine (device tool, kind nvidia-h200-x2) from the repository root over what
# prepare_nccl_carry.sh put in .devcarry/nccl/. Builds nothing. Steps (each under a time limit, logs
# in $OUT, a summary last):
#   1. the NCCL group test, mpirun -np 2 (device collectives + captured all-reduce replay);
#   2. the collective bench: our group vs raw ncclAllReduce, then the MPI group on host buffers;
#   3. a random-weight Llama-3-8B-shaped checkpoint (gen_llama8b_shape.py), then tandem_tp_bench
#      with 1 rank (writes the reference) and 2 ranks (compares with it): greedy tokens, prompt
#      logits, decode step at batch 1 / 64, 4096-token prefill; then the same check (no timing) on
#      a 2-layer checkpoint of that shape.
# NVLink multicast (NVLS) stays off on these machines: NCCL_NVLS_ENABLE=0.
set -uo pipefail
OUT=${OUT:-/tmp/tandem-out}
mkdir -p "$OUT"
carry=.devcarry/nccl
work=$(mktemp -d)
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export NCCL_NVLS_ENABLE=0
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
declare -a summary=()
step() {  # step NAME LOG SECONDS cmd...
  local name=$1 log=$2 limit=$3
  shift 3
  echo "=== $name"
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$log" 2>&1
  local rc=$?
  tail -n 30 "$OUT/$log"
  summary+=("$(printf '%-40s %s' "$name" "$([[ $rc == 0 ]] && echo PASS || echo "FAIL (rc $rc)") $((SECONDS - t0)) s")")
  return $rc
}
mpi=(mpirun --oversubscribe -x NCCL_NVLS_ENABLE -x LD_LIBRARY_PATH)

echo "nccl_check.sh on $(hostname), $(date -u +%FT%TZ)"
nvidia-smi -L | tee "$OUT/gpus.txt"
nvidia-smi topo -m > "$OUT/topo.txt" 2>&1
tar -xzf "$carry/bundle.tar.gz" -C "$work"
bin=$work/bundle/bin
step "nccl group test (np 2)" nccl_test.log 120 "${mpi[@]}" -np 2 "$bin/tandem_nccl_group_test" --gtest_color=no
step "collective bench gpu (np 2)" coll_gpu.log 120 "${mpi[@]}" -np 2 "$bin/tandem_collective_bench"
step "collective bench cpu (np 2)" coll_cpu.log 60 "${mpi[@]}" -np 2 "$bin/tandem_collective_bench" --cpu
if step "gen llama-3-8b shape" gen.log 200 python3 "$carry/gen_llama8b_shape.py" "$work/l8b"; then
  step "tp bench tp=1" tp1.log 150 "${mpi[@]}" -np 1 "$bin/tandem_tp_bench" "$work/l8b" --out "$work/tp1.bin"
  step "tp bench tp=2" tp2.log 150 "${mpi[@]}" -np 2 "$bin/tandem_tp_bench" "$work/l8b" --ref "$work/tp1.bin"
fi
# A 2-layer checkpoint of the same shape: how far TP=2 is from TP=1 before 32 layers amplify it.
if step "gen llama-3-8b shape, 2 layers" gen2.log 60 python3 "$carry/gen_llama8b_shape.py" "$work/l8b2" --layers 2; then
  step "tp check tp=1, 2 layers" tp1_l2.log 60 "${mpi[@]}" -np 1 "$bin/tandem_tp_bench" "$work/l8b2" --out "$work/tp1_l2.bin" --no-timing
  step "tp check tp=2, 2 layers" tp2_l2.log 60 "${mpi[@]}" -np 2 "$bin/tandem_tp_bench" "$work/l8b2" --ref "$work/tp1_l2.bin" --no-timing
fi
echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
grep -h -A12 "===" "$OUT/coll_gpu.log" "$OUT/coll_cpu.log" 2>/dev/null
grep -h "^tp_bench" "$OUT"/tp*.log 2>/dev/null
