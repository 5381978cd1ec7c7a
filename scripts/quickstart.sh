#!/usr/bin/env bash
# The README's run command: installs what is needed, builds, and serves the bundled default model
# with `tandem serve` (gateway + one worker) on http://127.0.0.1:${TANDEM_PORT:-30000}.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
"$here/setup.sh"
"$here/build.sh"
port="${TANDEM_PORT:-30000}"
cat <<MSG

Starting tandem serve on port $port. Once it prints "listening", try from another shell:

  curl http://127.0.0.1:$port/v1/chat/completions -H 'Content-Type: application/json' \\
    -d '{"model": "default", "messages": [{"role": "user", "content": "What is the capital of France?"}]}'

Stop it with Ctrl-C.
MSG
exec "$TANDEM_BUILD_DIR/cli/tandem" serve --port "$port" "$@"
