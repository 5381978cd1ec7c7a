#!/usr/bin/env bash
# Issue #7 on a two-GPU machine (nvidia-h200-x2): the serving path with NCCL tensor parallelism.
# `mpirun -np 2 tandem worker --tp 2 --device cuda` (one GPU per rank, NCCL, captured decode
# graphs) behind `tandem gateway`, against a TP=1 worker on the same random Llama-3-8B-shaped bf16
# checkpoint: greedy /generate output ids for a few prompts. Also the decode-step table at context
# 1K, batch 1 / 32 / 128 (tandem_cuda_bench, issue #6's missing row).
# Prepare: scripts/device/prepare_carry.sh serving BUILD_DIR (bundle + generators), then
#   run(command="bash .devcarry/tp_worker_check.sh", carry=[".devcarry"], kind="nvidia-h200-x2")
# The checkpoint stays in /tmp/llama8b-shape for a following serving_bench.sh call on the warm machine.
set -uo pipefail
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1  # KINDS.md
OUT=${OUT:-/tmp/tandem-out}
mkdir -p "$OUT"
carry=.devcarry
stash=/tmp/tandem-bundle
rm -rf "$stash" && mkdir -p "$stash" && tar -xf "$carry/bundle.tar.xz" -C "$stash"
bin=$stash/bundle/bin
export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi -L | tee "$OUT/gpus.txt"
ck=/tmp/llama8b-shape
[[ -f $ck/config.json ]] || timeout 240 python3 "$carry/gen_llama8b_shape.py" "$ck" > "$OUT/gen_8b.log" 2>&1
python3 "$carry/gen_moe_checkpoint.py" "$ck" --tokenizer-only 128256  # byte-level, padded to the model's ids

[[ ${TANDEM_SKIP_DECODE_TABLE:-0} == 1 ]] || TANDEM_BENCH_CTX=1024 TANDEM_BENCH_BATCHES=1,32,128 timeout 150 "$bin/tandem_cuda_bench" "$ck" bf16 \
  > "$OUT/bench_8b_ctx1k.log" 2>&1
sed -n '/=== CUDA timing table/,$p' "$OUT/bench_8b_ctx1k.log"

mpi=(mpirun --allow-run-as-root --bind-to none -np 2 -x NCCL_NVLS_ENABLE -x TORCH_SYMM_MEM_DISABLE_MULTICAST
     -x NVSHMEM_DISABLE_NVLS -x LD_LIBRARY_PATH)
"${mpi[@]}" "$bin/tandem" worker --model "$ck" --tp 2 --device cuda --port 31001 --kv-slots 65536 \
  > "$OUT/worker_tp2.log" 2>&1 &
CUDA_VISIBLE_DEVICES=1 "$bin/tandem" worker --model "$ck" --device cuda --port 31002 --kv-slots 65536 \
  > "$OUT/worker_tp1.log" 2>&1 &
"$bin/tandem" gateway --worker-urls grpc://127.0.0.1:31001 --port 32001 > "$OUT/gw_tp2.log" 2>&1 &
"$bin/tandem" gateway --worker-urls grpc://127.0.0.1:31002 --port 32002 > "$OUT/gw_tp1.log" 2>&1 &
ready() { for _ in $(seq 1 300); do [[ $(curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:$1/readiness") == 200 ]] && return 0; sleep 1; done; return 1; }
ready 32001 && ready 32002 || { echo "not ready"; tail -20 "$OUT"/worker_tp*.log; }
gen() {  # gen PORT IDS
  curl -s -m 120 "http://127.0.0.1:$1/generate" -H 'content-type: application/json' \
    -d "{\"input_ids\":$2,\"sampling_params\":{\"max_new_tokens\":32,\"temperature\":0,\"ignore_eos\":true}}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("output_ids"))'
}
for ids in "[128000,791,6864,315,9822,374]" "[128000,$(seq -s, 1000 1 1300)]" "[42,43,44]"; do
  a=$(gen 32001 "$ids"); b=$(gen 32002 "$ids")
  echo "prompt of $(echo "$ids" | tr ',' '\n' | wc -l) ids: tp2 == tp1: $([[ $a == "$b" ]] && echo yes || echo no)"
  echo "  tp2 $a"; echo "  tp1 $b"
done | tee "$OUT/worker_compare.txt"
grep -h "tensor-parallel group\|tp rank" "$OUT"/worker_tp2.log | head -4
pkill -TERM -f "tandem gateway"
for p in $(pgrep -f "tandem worker"); do tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -q "OMPI_COMM_WORLD_RANK=0" && kill -TERM "$p"; done
pkill -TERM -f "tandem worker --model $ck --device cuda"
sleep 8
pgrep -fa "tandem" && pkill -9 -f tandem
echo "--- TP=2 worker shutdown (expect no signal 11 / abort):"
tail -4 "$OUT/worker_tp2.log"
