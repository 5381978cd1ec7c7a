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
if ! ctest --output-on-failure -j "$(nproc)" "$@"; then
  # Known flake, to be fixed: gateway_pd_dispatch_test aborts inside gRPC (grpc_cq_internal_unref
  # "prior > 0" on a gRPC thread while the test tears down its in-process servers and channels)
  # about once in 20 runs. It alone gets a second try, and only when it is the only failure.
  failed=$(cut -d: -f2 Testing/Temporary/LastTestsFailed.log 2>/dev/null | sort -u | tr '\n' ' ')
  if [[ $failed != "gateway_pd_dispatch_test " ]]; then
    exit 1
  fi
  echo "test.sh: only gateway_pd_dispatch_test failed (known gRPC teardown flake); running it once more"
  ctest --output-on-failure -R '^gateway_pd_dispatch_test$'
  echo "test.sh: every test passed (gateway_pd_dispatch_test on its second try)"
fi
