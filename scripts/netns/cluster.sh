#!/usr/bin/env bash
# A small "cluster" of hosts on one machine, for multi-host tests: network namespaces tnd-h1..hN
# joined by veth links to a bridge in the root namespace (which gets 10.77.0.254, so the root
# namespace reaches every host). Host i has 10.77.0.i.
#   scripts/netns/cluster.sh up [N=3]     create (idempotent)
#   scripts/netns/cluster.sh down         remove everything (also after a crashed run)
# Needs root and iproute2. mpirun reaches the namespaces through scripts/netns/netns_rsh.
set -euo pipefail
br=tnd-br0
case ${1:-} in
  up)
    n=${2:-3}
    ip link show "$br" >/dev/null 2>&1 || { ip link add "$br" type bridge; ip addr add 10.77.0.254/24 dev "$br"; }
    ip link set "$br" up
    for i in $(seq 1 "$n"); do
      ns=tnd-h$i
      ip netns list | grep -qw "$ns" && continue
      ip netns add "$ns"
      ip link add "tnd-v$i" type veth peer name eth0 netns "$ns"
      ip link set "tnd-v$i" master "$br" up
      ip -n "$ns" addr add "10.77.0.$i/24" dev eth0
      ip -n "$ns" link set eth0 up
      ip -n "$ns" link set lo up
    done
    ;;
  down)
    for ns in $(ip netns list | awk '/^tnd-h/ {print $1}'); do
      ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
      ip netns del "$ns"
    done
    ip link del "$br" 2>/dev/null || true
    ;;
  *) echo "usage: $0 up [N] | down" >&2; exit 2 ;;
esac
