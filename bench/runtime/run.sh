#!/usr/bin/env bash
# bench/runtime — the issue's runtime targets, side by side with the same command started bare
# in one run (see bench/runtime/README.md): start-to-up of a trivial Node.js web dyno (bare,
# sandbox alone, full runtime path; 50 each, interleaved), scaling a web type 0 → 50 → 0, and
# the memory the platform adds per dyno, a dyno's DNS name after it starts, stops or crashes,
# with a leak check at the end.
#
#   sudo bench/runtime/run.sh
#
# Everything runs inside scripts/sandbox (a throw-away network and mount namespace): the
# bridges, namespaces and nftables tables it makes die with it. Dyno cgroups are the host's
# (cgroup v1 is not namespaced); the benchmark removes its own and checks that none is left.
#
# Knobs (environment): REPS=50 WARMUP=3 SCALE=50 SCALE_RUNS=2 MEM_BARE=10 DNS_REPS=50 (crashes
#   until the dyno's name is gone) CPU=0 KEEP=1 (keep the
#   work dir) QUIET_BUSY=15 (a round or section where other work took this % of a CPU is
#   flagged noisy) WAIT_QUIET=0 (wait up to this many seconds for every CPU to be under
#   QUIET_BUSY % busy before measuring; a shared machine, the report shows other load either way).
# Writes the Markdown report to stdout and to bench/results/runtime-<date>.md; exits 1 when a
# check failed (a wrong answer, a dyno that never listened, something left behind).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

REPS=${REPS:-50}
WARMUP=${WARMUP:-3}
SCALE=${SCALE:-50}
SCALE_RUNS=${SCALE_RUNS:-2}
MEM_BARE=${MEM_BARE:-10}
DNS_REPS=${DNS_REPS:-50}
CPU=${CPU:-0}
KEEP=${KEEP:-0}
WAIT_QUIET=${WAIT_QUIET:-0}
QUIET_BUSY=${QUIET_BUSY:-15}

log() { echo "[bench/runtime] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "it makes namespaces, cgroups and firewall rules: run it as root (sudo)"
for tool in ip nft taskset unshare bwrap setpriv curl; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps installs it)"
done
[[ -d /sys/fs/cgroup/memory ]] || die "needs the cgroup v1 memory controller at /sys/fs/cgroup/memory"
((CPU < $(nproc --all))) || die "there is no CPU $CPU"
# Never on the real host: re-run inside a throw-away network and mount namespace.
scripts/sandbox --inside || exec scripts/sandbox "$0" "$@"

# Under /var/tmp (a real disk, as a daemon's data dir), searchable by the apps' uid.
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/localspace-bench-runtime.XXXXXX")
bench_pid=''
cleanup() {
  local rc=$?
  if [[ -n $bench_pid ]] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
  fi
  if [[ $KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
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
report="bench/results/runtime-$(date -u +%Y-%m-%d-%H%M%S).md"
log "measuring with the daemon's side on CPU $CPU (work dir $WORK); load now: $(cat /proc/loadavg)"
set +e
CLK_TCK=$(getconf CLK_TCK) BENCH_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown) \
  taskset -c "$CPU" node --expose-gc --import tsx bench/runtime/bench.ts --work "$WORK" \
  --reps "$REPS" --warmup "$WARMUP" --scale "$SCALE" --scale-runs "$SCALE_RUNS" \
  --mem-bare "$MEM_BARE" --dns-reps "$DNS_REPS" --quiet-busy "$QUIET_BUSY" --cpu "$CPU" >"$WORK/report.md" &
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
