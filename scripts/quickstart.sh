#!/usr/bin/env bash
# The README's run command: installs what is needed, builds, and runs the default model.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
"$here/setup.sh"
"$here/build.sh"
exec "$TANDEM_BUILD_DIR/cli/tandem" generate --chat "${1:-What is the capital of France?}" --max-tokens 64
