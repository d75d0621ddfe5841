#!/usr/bin/env bash
# bench/data — provisioning time of Postgres and Redis add-on servers (p50/p99), pgbench and
# redis-benchmark from a dyno across the space's bridges against the same server from its own
# namespace, and a follower's replay lag under load (see bench/data/README.md).
#
#   sudo bench/data/run.sh
#
# Everything runs inside scripts/sandbox (a throw-away network and mount namespace): the
# namespaces, the servers and their directories go with it.
#
# Knobs (environment): REPS=10 (servers provisioned, of each kind), SECONDS_RUN=10 (of each
#   pgbench run; bash owns SECONDS), RUNS=3 (runs of each side), REQUESTS=50000 (redis-benchmark).
# Writes the Markdown report to stdout and to bench/results/data-<date>.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

REPS=${REPS:-10}
SECS=${SECONDS_RUN:-10}
RUNS=${RUNS:-3}
REQUESTS=${REQUESTS:-50000}

log() { echo "[bench/data] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "it makes namespaces and runs database servers: run it as root (sudo)"
for tool in ip /usr/lib/postgresql/15/bin/pgbench /usr/lib/postgresql/15/bin/initdb redis-server redis-benchmark; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps installs it)"
done
# Never on the real host: re-run inside a throw-away network and mount namespace.
scripts/sandbox --inside || exec scripts/sandbox "$0" "$@"

mkdir -p bench/results
report="bench/results/data-$(date -u +%Y-%m-%d-%H%M%S).md"
log "measuring; load now: $(cat /proc/loadavg)"
node --import tsx bench/data/bench.ts --reps "$REPS" --seconds "$SECS" --runs "$RUNS" --requests "$REQUESTS" | tee "$report"
log "wrote $report"
