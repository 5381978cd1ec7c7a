#!/usr/bin/env bash
# Prepares the carry of scripts/device/attn_check.sh in DEST (default /work/main/.devcarry-attn,
# ignored there by /.devcarry*/):
#   bench:  bundle.tar.gz (tandem_cuda_ops_test, tandem_cuda_model_test, tandem_cuda_bench),
#           attn_check.sh, gen_llama8b_shape.py;
#   part1:  the same plus model.sha256 and the first 40 MiB of the default model (stashed there);
#   part2:  attn_check.sh and the rest of the model (no bundle: the warm machine has it), for
#           the call right after part1 (a machine stays warm about 30 s).
# Usage: scripts/device/prepare_attn_carry.sh bench|part1|part2 BUILD_DIR [DEST]
# Then: run(command="bash .devcarry-attn/attn_check.sh", carry=[".devcarry-attn"], kind="nvidia-h200").
set -euo pipefail
phase=$1
build=$2
dest=${3:-/work/main/.devcarry-attn}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$root/scripts/env.sh"
model=$TANDEM_MODEL_DIR/SmolLM2-135M-Instruct.Q4_1.gguf
split_bytes=$((40 * 1024 * 1024))
rm -rf "$dest"
mkdir -p "$dest"
cp "$here/attn_check.sh" "$dest/"
if [[ $phase == bench || $phase == part1 ]]; then
  tmp=$(mktemp -d)
  "$root/deploy/bundle.sh" "$build" "$tmp/bundle" tandem_cuda_ops_test tandem_cuda_model_test tandem_cuda_bench
  tar -czf "$dest/bundle.tar.gz" -C "$tmp" bundle
  rm -rf "$tmp"
  cp "$here/gen_llama8b_shape.py" "$dest/"
fi
if [[ $phase == part1 ]]; then
  (cd "$TANDEM_MODEL_DIR" && sha256sum "$(basename "$model")") > "$dest/model.sha256"
  head -c "$split_bytes" "$model" > "$dest/model.part1"
elif [[ $phase == part2 ]]; then
  tail -c +$((split_bytes + 1)) "$model" > "$dest/model.part2"
fi
du -sh "$dest"/*
