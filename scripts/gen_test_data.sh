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
# SmolLM2 tokenizer.json variants for the tokenizer oracle tests, converted from the default GGUF.
if [[ ! -f "$gen/tokenizer/smollm2/tokenizer.json" ]]; then
  model="$("$here/fetch_model.sh")"
  "$py" "$TANDEM_ROOT/scripts/oracles/tokenizer/gen_smollm2_tokenizers.py" --gguf "$model" --out "$gen/tokenizer"
fi
# The committed expected ids must still be what HF tokenizers produces on the regenerated files.
"$py" "$TANDEM_ROOT/scripts/oracles/tokenizer/make_expected.py" --gen "$gen/tokenizer" --check
