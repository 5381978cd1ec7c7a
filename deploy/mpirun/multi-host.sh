#!/usr/bin/env bash
# One tensor-parallel worker spanning the hosts of a hostfile (rank 0 on the first host), run from
# that first host. Every host needs the same tandem binary and model path, passwordless ssh from
# here, and the ports in docs/deployment.md ("Several hosts") open between them.
#   deploy/mpirun/multi-host.sh HOSTFILE [MODEL] [DEVICE=cpu] [IFACE_SUBNET=10.0.0.0/24]
set -euo pipefail
hostfile=$1
model=${2:-$HOME/.cache/tandem/models/SmolLM2-135M-Instruct.Q4_1.gguf}
device=${3:-cpu}
subnet=${4:-10.0.0.0/24}
n=$(awk '!/^#/ && NF { s = 1; for (i = 2; i <= NF; ++i) if ($i ~ /^slots=/) { split($i, a, "="); s = a[2] } t += s } END { print t }' "$hostfile")
tandem=${TANDEM:-$(command -v tandem || echo build/cli/tandem)}
root=(); [[ $EUID -eq 0 ]] && root=(--allow-run-as-root)
# MPI's own traffic (launch, control, CPU collectives) stays on the cluster subnet and on fixed
# ports, so a firewall can allow exactly these; NCCL (GPU) uses its own sockets (NCCL_SOCKET_IFNAME).
exec mpirun --hostfile "$hostfile" -np "$n" --bind-to none "${root[@]}" \
  --mca btl tcp,self,vader --mca btl_tcp_if_include "$subnet" --mca oob_tcp_if_include "$subnet" \
  --mca btl_tcp_port_min_v4 30100 --mca btl_tcp_port_range_v4 100 \
  --mca oob_tcp_static_ipv4_ports 30300-30399 \
  -x NCCL_NVLS_ENABLE=0 -x NCCL_SOCKET_IFNAME \
  "$tandem" worker --tp "$n" --device "$device" --model "$model" --host 0.0.0.0 --port 30001
