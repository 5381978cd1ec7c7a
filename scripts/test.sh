#!/usr/bin/env bash
# The README's test command: installs what is needed, builds, generates test data and runs every
# test that needs no GPU (unit, kernel, integration, e2e). Ends with CTest's summary line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
"$here/setup.sh"
"$here/build.sh"
"$here/gen_test_data.sh"
cd "$TANDEM_BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" "$@"
