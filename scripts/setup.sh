#!/usr/bin/env bash
# Installs everything Tandem needs on Debian 12 (run as root, or with sudo available):
# Debian packages, a Python venv with the test/oracle packages from PyPI, and the default model.
# Idempotent: a second run only checks.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"

SUDO=""
if [[ $EUID -ne 0 ]]; then SUDO="sudo"; fi

DEBS=(
  build-essential cmake ninja-build ccache pkg-config git unzip ca-certificates
  python3 python3-venv python3-pip
  libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev libpcre2-dev libxxhash-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libzmq3-dev cppzmq-dev libopenmpi-dev openmpi-bin libssl-dev zlib1g-dev curl
  patchelf  # deploy/bundle.sh (relocatable bundles for hosts without our packages)
  iproute2  # tests/e2e/test_multihost.py: network namespaces as hosts (ip netns)
)
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x "$TANDEM_VENV/bin/python" ]]; then
  echo "setup: creating the Python venv at $TANDEM_VENV"
  python3 -m venv "$TANDEM_VENV"
fi
req="$TANDEM_ROOT/scripts/requirements.txt"
stamp="$TANDEM_VENV/.requirements.sha256"
if [[ ! -f "$stamp" ]] || ! sha256sum -c --status "$stamp" 2>/dev/null; then
  echo "setup: installing Python packages from scripts/requirements.txt"
  "$TANDEM_VENV/bin/pip" install -q --disable-pip-version-check -r "$req"
  sha256sum "$req" > "$stamp"
fi

model="$("$here/fetch_model.sh")"
echo "setup: default model at $model"
