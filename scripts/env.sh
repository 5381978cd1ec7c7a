# Shared paths for the scripts (sourced). Override any of them from the environment.
: "${TANDEM_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${TANDEM_HOME:=${XDG_CACHE_HOME:-$HOME/.cache}/tandem}"
: "${TANDEM_MODEL_DIR:=$TANDEM_HOME/models}"
: "${TANDEM_VENV:=$TANDEM_ROOT/.venv}"
: "${TANDEM_BUILD_DIR:=$TANDEM_ROOT/build}"
export TANDEM_ROOT TANDEM_HOME TANDEM_MODEL_DIR TANDEM_VENV TANDEM_BUILD_DIR
