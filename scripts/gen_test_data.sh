#!/usr/bin/env bash
# Regenerates test inputs that are too large to commit (random-weight checkpoints, exported
# tokenizer files) into $TANDEM_BUILD_DIR/generated. Deterministic; skips what is already there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
gen="${TANDEM_TEST_GEN_DIR:-$TANDEM_BUILD_DIR/generated}"
mkdir -p "$gen"
py="$TANDEM_VENV/bin/python"
for arch in qwen3 qwen2 llama; do
  [[ -f "$gen/$arch-tiny/config.json" ]] || "$py" "$TANDEM_ROOT/scripts/gen_random_checkpoint.py" --arch "$arch" --out "$gen/$arch-tiny"
done
