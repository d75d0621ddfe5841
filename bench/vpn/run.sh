#!/usr/bin/env bash
# bench/vpn — time from a VPN connection's configuration to both tunnels UP (p50/p99), and
# latency and TCP throughput through the tunnel side by side with the same path without IPsec
# (see bench/vpn/README.md).
#
#   sudo bench/vpn/run.sh
#
# Everything runs inside scripts/sandbox (a throw-away network and mount namespace): the
# namespaces, the charons and their directories go with it.
#
# Knobs (environment): REPS=20 (configurations timed, warm and cold each), SECONDS_TPUT=5 (of TCP
#   throughput; bash owns SECONDS), PINGS=2000 (TCP round trips).
# Writes the Markdown report to stdout and to bench/results/vpn-<date>.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

REPS=${REPS:-20}
SECS=${SECONDS_TPUT:-5}
PINGS=${PINGS:-2000}

log() { echo "[bench/vpn] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "it makes namespaces and runs charon: run it as root (sudo)"
for tool in ip unshare nsenter swanctl /usr/lib/ipsec/charon; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps installs it)"
done
# Never on the real host: re-run inside a throw-away network and mount namespace.
scripts/sandbox --inside || exec scripts/sandbox "$0" "$@"

mkdir -p bench/results
report="bench/results/vpn-$(date -u +%Y-%m-%d-%H%M%S).md"
log "measuring; load now: $(cat /proc/loadavg)"
node --import tsx bench/vpn/bench.ts --reps "$REPS" --seconds "$SECS" --pings "$PINGS" | tee "$report"
log "wrote $report"
