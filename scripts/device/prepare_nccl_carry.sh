#!/usr/bin/env bash
# Prepares one device call of scripts/device/nccl_check.sh in DEST (default /work/main/.devcarry/nccl,
# ignored by the checkout): bundle.tar.gz (deploy/bundle.sh of BUILD_DIR with the NCCL group test,
# the collective bench and the TP bench), nccl_check.sh and gen_llama8b_shape.py.
# Usage: scripts/device/prepare_nccl_carry.sh BUILD_DIR [DEST]
# Then: run(kind="nvidia-h200-x2", command="bash .devcarry/nccl/nccl_check.sh", carry=[".devcarry/nccl"]).
set -euo pipefail
build=$1
dest=${2:-/work/main/.devcarry/nccl}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rm -rf "$dest"
mkdir -p "$dest"
tmp=$(mktemp -d)
"$root/deploy/bundle.sh" "$build" "$tmp/bundle" tandem_nccl_group_test tandem_collective_bench tandem_tp_bench
tar -czf "$dest/bundle.tar.gz" -C "$tmp" bundle
rm -rf "$tmp"
cp "$here/nccl_check.sh" "$here/gen_llama8b_shape.py" "$dest/"
du -sh "$dest"/*
