#!/usr/bin/env bash
# Issue #7: mixture-of-experts on GPUs (scripts/device/moe_check.py says what it checks). Prepare
# with `scripts/device/prepare_carry.sh moe BUILD_DIR`, then
#   run(command="bash .devcarry/moe_check.sh", carry=[".devcarry"], kind="nvidia-h200-x2")
set -uo pipefail
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1  # KINDS.md
OUT=${OUT:-/tmp/tandem-out}
mkdir -p "$OUT"
carry=.devcarry
stash=/tmp/tandem-bundle
rm -rf "$stash" && mkdir -p "$stash" && tar -xf "$carry/bundle.tar.xz" -C "$stash"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi -L | tee "$OUT/gpus.txt"
[[ -x $stash/bundle/bin/tandem_cuda_ops_test ]] && timeout 200 "$stash/bundle/bin/tandem_cuda_ops_test" --gtest_color=no --gtest_filter="${TANDEM_OPS_FILTER:-CudaRows*:CudaSample*}" \
  > "$OUT/ops_test.log" 2>&1; echo "kernel tests: rc $? ($(grep -E '^\[  (PASSED|FAILED)' "$OUT/ops_test.log" | tr '\n' ' '))"
PYTHONUNBUFFERED=1 timeout 420 python3 "$carry/moe_check.py" "$stash/bundle/bin" "$carry" "$OUT"
echo "moe_check.py: rc $?"
