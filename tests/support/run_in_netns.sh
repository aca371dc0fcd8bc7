#!/usr/bin/env bash
# Runs a command inside a private network namespace whose loopback carries multicast, so mDNS
# tests neither need nor disturb a real network: `unshare -n`, bring `lo` up with multicast and a
# route for 224.0.0.0/4, then exec the command with RPCX_IN_NETNS=1.
# Usage: tests/support/run_in_netns.sh <command> [args...]
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 <command> [args...]" >&2
  exit 2
fi

if [[ "${RPCX_IN_NETNS:-}" == "1" ]]; then
  exec "$@"
fi

exec unshare -n -- bash -c '
  set -euo pipefail
  ip link set lo up
  ip link set lo multicast on
  ip route add 224.0.0.0/4 dev lo
  export RPCX_IN_NETNS=1
  exec "$@"
' run_in_netns "$@"
