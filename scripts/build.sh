#!/usr/bin/env bash
# Configures (once) and builds Tandem with Ninja into $TANDEM_BUILD_DIR (default ./build).
# Extra arguments go to cmake at configure time, e.g. -DTANDEM_SANITIZE=address.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
if [[ ! -f "$TANDEM_BUILD_DIR/build.ninja" || $# -gt 0 ]]; then
  cmake -S "$TANDEM_ROOT" -B "$TANDEM_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
fi
ninja -C "$TANDEM_BUILD_DIR"
