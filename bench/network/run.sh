#!/usr/bin/env bash
# bench/network — the issue's network targets, side by side with the kernel floor in one run
# (see bench/README.md): space allocation and teardown, dyno attach and detach, 100 spaces ×
# 10 dynos created and torn down with a leak check, and firewall updates with 1,000 dynos.
#
#   sudo bench/network/run.sh
#
# Everything runs inside scripts/sandbox (a throw-away network and mount namespace): the
# bridges, namespaces, addresses and nftables tables it makes never touch the real host, and
# are gone when it ends, even when it is aborted.
#
# Knobs (environment): REPS=100 SPACES=100 DYNOS=10 FW_REPS=20 CPU=0 KEEP=1 (keep the work dir)
#   WAIT_QUIET=0: wait up to this many seconds for every CPU to be under QUIET_BUSY=15 % busy
#   before measuring (a shared machine; the report shows other load either way).
# Writes the Markdown report to stdout and to bench/results/network-<date>.md; exits 1 when
# something leaked or failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

REPS=${REPS:-100}
SPACES=${SPACES:-100}
DYNOS=${DYNOS:-10}
FW_REPS=${FW_REPS:-20}
CPU=${CPU:-0}
KEEP=${KEEP:-0}
WAIT_QUIET=${WAIT_QUIET:-0}
QUIET_BUSY=${QUIET_BUSY:-15}

log() { echo "[bench/network] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "it makes network namespaces and firewall rules: run it as root (sudo)"
for tool in ip nft taskset unshare; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps installs it)"
done
((CPU < $(nproc --all))) || die "there is no CPU $CPU"
[[ -f dist/main.js ]] || {
  log "dist/ is missing: npm run build"
  npm run build >&2
}
# Never on the real host: re-run inside a throw-away network and mount namespace.
scripts/sandbox --inside || exec scripts/sandbox "$0" "$@"

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/localspace-bench-network.XXXXXX")
bench_pid=''
cleanup() {
  local rc=$?
  if [[ -n $bench_pid ]] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
  fi
  if [[ $KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  # The namespaces, links and tables die with the sandbox.
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every CPU: the bench's processes run on one, the kernel's work for them lands on any.
BUSY_CPUS='[0-9]+'
# shellcheck source=bench/lib.sh
source bench/lib.sh
wait_quiet

mkdir -p bench/results
report="bench/results/network-$(date -u +%Y-%m-%d-%H%M%S).md"
log "measuring on CPU $CPU (work dir $WORK); about a minute or two"
set +e
CLK_TCK=$(getconf CLK_TCK) BENCH_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown) \
  taskset -c "$CPU" node --import tsx bench/network/bench.ts --work "$WORK" --reps "$REPS" \
  --spaces "$SPACES" --dynos "$DYNOS" --fw-reps "$FW_REPS" --cpu "$CPU" >"$WORK/report.md" &
bench_pid=$!
wait "$bench_pid"
rc=$?
bench_pid=''
set -e
if [[ -s $WORK/report.md ]]; then
  cp "$WORK/report.md" "$report"
  cat "$report"
  log "wrote $report"
fi
((rc == 0)) || die "the benchmark failed (exit $rc)"
