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
  # gateway_pd_dispatch_test used to abort inside gRPC (grpc_cq_internal_unref "prior > 0") about
  # once in 20 runs when every channel of the process was dropped between tests; the test now keeps
  # one channel for its whole run (0 aborts in 70 runs under load since). Until CI has shown that
  # for a while, it alone keeps a second try, only when it is the only failure, and says so.
  failed=$(cut -d: -f2 Testing/Temporary/LastTestsFailed.log 2>/dev/null | sort -u | tr '\n' ' ')
  if [[ $failed != "gateway_pd_dispatch_test " ]]; then
    exit 1
  fi
  echo "test.sh: only gateway_pd_dispatch_test failed (the gRPC teardown abort it used to hit?); running it once more"
  ctest --output-on-failure -R '^gateway_pd_dispatch_test$'
  echo "test.sh: every test passed (gateway_pd_dispatch_test on its second try)"
fi
