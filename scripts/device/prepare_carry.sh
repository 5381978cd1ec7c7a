#!/usr/bin/env bash
# Prepares what one device call carries for scripts/device/cuda_check.sh, in DEST (default
# /work/main/.devcarry, which the checkout's .git/info/exclude must ignore):
#   phase 1: bundle.tar.xz (deploy/bundle.sh of BUILD_DIR: tandem + the CUDA test and bench
#            binaries), cuda_check.sh, model.sha256 and model.part1 (the first 40 MiB of the model);
#   phase 2: cuda_check.sh, model.part2 (the rest), gen_llama8b_shape.py and hf_compare.py;
#   phase serving: serving_bench.sh's and tp_worker_check.sh's calls: the bundle (tandem, tandem_cuda_bench,
#            tandem_cuda_ops_test),
#            gen_llama8b_shape.py and gen_moe_checkpoint.py (its --tokenizer-only makes the
#            checkpoint's tokenizer there);
#   phase moe: moe_check.sh's call (issue #7: MoE on CUDA, TP and EP over NCCL): the bundle (tandem,
#            tandem_cuda_ops_test), moe_check.py, gen_moe_checkpoint.py and moe_reference.py;
#   phase 8b: one call without the default model: the bundle, gen_llama8b_shape.py and
#            hf_compare.py (kernel tests, then the Llama-3-8B-shape timing and transformers check).
# The split exists because one call carries at most 64 MiB and the default model is 94 MiB.
# Usage: scripts/device/prepare_carry.sh 1|2|8b|serving|moe BUILD_DIR [DEST]
# Then: run(command="bash .devcarry/cuda_check.sh", carry=[".devcarry"]) once per phase, phase 2
# right after phase 1 (the machine stays warm about 30 s).
set -euo pipefail
phase=$1
build=$2
dest=${3:-/work/main/.devcarry}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$root/scripts/env.sh"
model=$TANDEM_MODEL_DIR/SmolLM2-135M-Instruct.Q4_1.gguf
split_bytes=$((40 * 1024 * 1024))
rm -rf "$dest"
mkdir -p "$dest"
cp "$here/cuda_check.sh" "$dest/"
if [[ $phase == moe ]]; then
  tmp=$(mktemp -d)
  "$root/deploy/bundle.sh" "$build" "$tmp/bundle" tandem tandem_cuda_ops_test
  XZ_OPT="-6 -T2" tar -cJf "$dest/bundle.tar.xz" -C "$tmp" bundle  # xz: a third smaller than gzip
  rm -rf "$tmp"
  cp "$here/moe_check.sh" "$here/moe_check.py" "$root/scripts/gen_moe_checkpoint.py" "$root/tests/support/moe_reference.py" \
    "$dest/"
  du -sh "$dest"/*
  exit 0
fi
if [[ $phase == serving ]]; then
  tmp=$(mktemp -d)
  "$root/deploy/bundle.sh" "$build" "$tmp/bundle" tandem tandem_cuda_bench tandem_cuda_ops_test
  XZ_OPT="-6 -T2" tar -cJf "$dest/bundle.tar.xz" -C "$tmp" bundle  # xz: a third smaller than gzip
  rm -rf "$tmp"
  cp "$here/serving_bench.sh" "$here/tp_worker_check.sh" "$here/gen_llama8b_shape.py" "$root/scripts/gen_moe_checkpoint.py" \
    "$dest/"
  du -sh "$dest"/*
  exit 0
fi
if [[ $phase == 1 || $phase == 8b ]]; then
  tmp=$(mktemp -d)
  "$root/deploy/bundle.sh" "$build" "$tmp/bundle" tandem tandem_cuda_ops_test tandem_cuda_model_test tandem_cuda_bench \
    tandem_cuda_hf_check
  XZ_OPT="-6 -T2" tar -cJf "$dest/bundle.tar.xz" -C "$tmp" bundle  # xz: a third smaller than gzip
  rm -rf "$tmp"
fi
if [[ $phase == 1 ]]; then
  (cd "$TANDEM_MODEL_DIR" && sha256sum "$(basename "$model")") > "$dest/model.sha256"
  head -c "$split_bytes" "$model" > "$dest/model.part1"
elif [[ $phase == 8b ]]; then
  cp "$here/gen_llama8b_shape.py" "$here/hf_compare.py" "$dest/"
else
  tail -c +$((split_bytes + 1)) "$model" > "$dest/model.part2"
  cp "$here/gen_llama8b_shape.py" "$here/hf_compare.py" "$dest/"
fi
du -sh "$dest"/*
