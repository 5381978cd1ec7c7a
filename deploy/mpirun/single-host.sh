#!/usr/bin/env bash
# One tensor-parallel worker over N ranks on this host, behind a gateway.
#   deploy/mpirun/single-host.sh [N=2] [MODEL] [DEVICE=cpu]
# CPU: each rank takes cores/N compute threads. CUDA: rank r uses GPU r (NCCL between them).
# Stop with Ctrl-C (SIGTERM to rank 0 drains and releases every rank).
set -euo pipefail
n=${1:-2}
model=${2:-$HOME/.cache/tandem/models/SmolLM2-135M-Instruct.Q4_1.gguf}
device=${3:-cpu}
tandem=${TANDEM:-$(command -v tandem || echo build/cli/tandem)}
threads=$(( $(nproc) / n )); (( threads > 0 )) || threads=1
root=(); [[ $EUID -eq 0 ]] && root=(--allow-run-as-root)
mpirun -np "$n" --bind-to none "${root[@]}" \
  -x NCCL_NVLS_ENABLE=0 \
  "$tandem" worker --tp "$n" --device "$device" --model "$model" --threads "$threads" --port 30001 &
mpi=$!
trap 'kill -TERM $gw 2>/dev/null; kill -TERM $mpi 2>/dev/null; wait' EXIT INT TERM
"$tandem" gateway --port 30000 --worker-urls grpc://127.0.0.1:30001 &
gw=$!
wait $gw
