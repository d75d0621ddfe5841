#!/usr/bin/env bash
# bench/api — the Platform API benchmark (see bench/README.md).
#
# With 1,000 apps in the store: GET /apps/{app} and PATCH /apps/{app}/config-vars against the
# daemon pinned to CPU 0, wrk pinned to CPU 1; side by side with the anchor, a bare Fastify
# server on the same Node answering the same routes with the same bodies (HTTP + JSON alone),
# and with the disk's durable-commit floor (SQLite WAL, synchronous=FULL).
#
#   sudo bench/api/run.sh
#
# Knobs (environment): APPS=1000 CONNECTIONS="16 1" DURATION=10 RUNS=3 WARMUP=3
#   SERVER_CPU=0 LOADGEN_CPU=1 KEEP=1 (keep the work dir with raw wrk outputs)
#   WAIT_QUIET=0: before each run, wait up to this many seconds for both CPUs to be under
#   QUIET_BUSY=15 % busy (a shared machine; the report flags other load either way);
#   RETRIES=0: measure a run again (up to this many times) when other work took QUIET_BUSY %
#   of either CPU during it; PATIENCE=900: seconds after the first measurement from which on
#   there is no more waiting or retrying (every run is measured once, as it comes). On a shared
#   machine:
#   WAIT_QUIET=60 RETRIES=2.
# Writes the Markdown summary to stdout and to bench/results/api-<date>.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

APPS=${APPS:-1000}
CONNECTIONS=${CONNECTIONS:-"16 1"}
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-3}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
KEEP=${KEEP:-0}
WAIT_QUIET=${WAIT_QUIET:-0}
RETRIES=${RETRIES:-0}
PATIENCE=${PATIENCE:-900}
QUIET_BUSY=${QUIET_BUSY:-15}

log() { echo "[bench/api] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# --- tools -------------------------------------------------------------------------------------
apt_updated=0
apt_install() {
  [[ $(id -u) -eq 0 ]] || die "$1 is missing; run as root (sudo bench/api/run.sh) to install it"
  if [[ $apt_updated -eq 0 ]] && ! apt-cache show "$1" >/dev/null 2>&1; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    apt_updated=1
  fi
  log "apt-get install -y $1"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >&2; then
    [[ $apt_updated -eq 0 ]] || die "apt-get install $1 failed"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    apt_updated=1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >&2
  fi
}
command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl
command -v taskset >/dev/null || apt_install util-linux
cpus=$(nproc --all)
((SERVER_CPU < cpus && LOADGEN_CPU < cpus)) ||
  die "needs CPUs $SERVER_CPU and $LOADGEN_CPU (this machine has $cpus)"
[[ -f dist/main.js ]] || {
  log "dist/ is missing: npm run build"
  npm run build >&2
}
# The daemon manages the network of the host it runs on (a space gets bridges and firewall
# rules): measure inside a throw-away network namespace, never on the real host.
scripts/sandbox --inside || exec scripts/sandbox "$0" "$@"

# --- work dir, processes, cleanup --------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/localspace-bench-api.XXXXXX")
chmod 711 "$WORK" # the apps' users pass through it to the data dir below
daemon_pid=''
anchor_pid=''

stop_pid() { # stop_pid PID: SIGTERM, up to 5 s, then SIGKILL
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  stop_pid "$anchor_pid"
  stop_pid "$daemon_pid"
  if [[ $rc -ne 0 ]]; then
    for f in "$WORK/daemon.log" "$WORK/anchor.log"; do
      [[ -s $f ]] && { log "last lines of $f:" && tail -n 20 "$f" >&2; }
    done
  fi
  if [[ $KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

wait_for_line() { # wait_for_line FILE REGEX PID WHAT: polls until the line shows, at most 30 s
  local file=$1 regex=$2 pid=$3 what=$4
  for _ in $(seq 300); do
    grep -qE "$regex" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || die "$what exited before it was ready"
    sleep 0.1
  done
  die "$what was not ready after 30 s"
}

# --- the daemon with 1,000 apps ----------------------------------------------------------------
api_port=$(free_port)
router_port=$(free_port)
API="http://127.0.0.1:$api_port"
log "starting the daemon on CPU $SERVER_CPU at $API (data in $WORK/data)"
taskset -c "$SERVER_CPU" node bin/localspace daemon --data-dir "$WORK/data" \
  --api-listen "127.0.0.1:$api_port" --router-listen "127.0.0.1:$router_port" \
  >"$WORK/daemon.log" 2>&1 &
daemon_pid=$!
wait_for_line "$WORK/daemon.log" '^export HEROKU_API_KEY=' "$daemon_pid" 'the daemon'
KEY=$(sed -n 's/^export HEROKU_API_KEY=//p' "$WORK/daemon.log")
[[ $(curl -fsS "$API/healthz") == *ok* ]] || die "GET /healthz did not answer ok"

log "seeding 1 team, 1 space, $APPS apps"
taskset -c "$LOADGEN_CPU" node --import tsx bench/api/seed.ts --url "$API" --key "$KEY" \
  --out "$WORK" --apps "$APPS" --concurrency 16 >&2

anchor_port=$(free_port)
ANCHOR="http://127.0.0.1:$anchor_port"
log "starting the anchor on CPU $SERVER_CPU at $ANCHOR"
taskset -c "$SERVER_CPU" node --import tsx bench/api/anchor.ts --listen "127.0.0.1:$anchor_port" \
  --app "$WORK/app.json" --config "$WORK/config-vars.json" >"$WORK/anchor.log" 2>&1 &
anchor_pid=$!
wait_for_line "$WORK/anchor.log" '^anchor listening on ' "$anchor_pid" 'the anchor'

# Same answer sizes on both sides (the anchor serves what the daemon answered for app 1).
first_app=$(head -n 1 "$WORK/apps.txt")
size_of() { curl -fsS -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $KEY" \
  -H 'Accept: application/vnd.heroku+json; version=3' "$@"; }
api_size=$(size_of "$API/apps/$first_app")
anchor_size=$(size_of "$ANCHOR/apps/$first_app")
log "GET /apps/$first_app: daemon $api_size bytes, anchor $anchor_size bytes"
[[ $api_size == "$anchor_size" ]] || die "the anchor's answer is not the daemon's size"

# --- measuring ---------------------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
# snapshot PID: "<cpuS busy> <cpuS total> <cpuL busy> <cpuL total> <pid ticks> <ns>"; busy is
# user + nice + system + steal: what processes (ours and others) and the hypervisor took,
# without the IRQ and softirq time that our own loopback traffic costs.
snapshot() {
  local stat
  read -r -a stat <"/proc/$1/stat"
  awk -v s="cpu$SERVER_CPU" -v l="cpu$LOADGEN_CPU" -v t=$((stat[13] + stat[14])) \
    -v now="$(date +%s%N)" '
    $1 == s || $1 == l { tot = 0; for (i = 2; i <= 9; i++) tot += $i
                         b[$1] = $2 + $3 + $4 + $9; T[$1] = tot }
    END { printf "%d %d %d %d %d %s\n", b[s], T[s], b[l], T[l], t, now }' /proc/stat
}

patience_left() { # patience_left: true while waiting and retrying are still allowed
  ((SECONDS < patience_end)) && return 0
  ((patience_said)) || log "waited and retried for ${PATIENCE} s in all: measuring as it comes"
  patience_said=1
  return 1
}
patience_end=$((SECONDS + PATIENCE))
patience_said=0

# shellcheck source=bench/lib.sh
source bench/lib.sh
may_wait() { patience_left; }

parse_wrk() { # parse_wrk FILE -> "rps p50_ms p99_ms non2xx errors requests ok"
  awk '
    function ms(v,   n, u) { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
      return u == "us" ? n / 1000 : u == "ms" ? n : u == "s" ? n * 1000 : u == "m" ? n * 60000 : n }
    /^Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ { gsub(",", ""); errs = $4 + $6 + $8 + $10 }
    /^BENCH / { for (i = 2; i <= NF; i++) { split($i, kv, "="); b[kv[1]] = kv[2] } }
    END {
      if (rps == "" || !("ok" in b)) { print "unparsable"; exit 1 }
      bad = b["bad"] > non2xx ? b["bad"] : non2xx + 0
      printf "%s %.3f %.3f %d %d %d %d\n", rps, p50, p99, bad, errs + 0, b["requests"], b["ok"]
    }' "$1"
}

RESULTS="$WORK/results.tsv"
printf 'scenario\tconns\trun\trps\tp50_ms\tp99_ms\tnon2xx\terrors\trequests\tok\twrk_cpu\tserver_cpu\tcpu_server_busy\tcpu_loadgen_busy\n' >"$RESULTS"
mkdir -p "$WORK/wrk"
run_id=0

measure() { # measure SCENARIO URL PID MODE CONNS RUN SECONDS: one wrk run -> one results row
  local scenario=$1 url=$2 pid=$3 mode=$4 conns=$5 run=$6 secs=$7
  local out="$WORK/wrk/$scenario-c$conns-$run_id.txt" before after times parsed
  before=$(snapshot "$pid")
  times=$({
    TIMEFORMAT='%3U %3S %3R'
    time taskset -c "$LOADGEN_CPU" wrk -t1 -c"$conns" -d"${secs}s" --latency \
      -s bench/api/api.lua "$url" -- "$mode" "$WORK/apps.txt" "$KEY" "$$-$run_id" >"$out" 2>&1
  } 2>&1)
  after=$(snapshot "$pid")
  parsed=$(parse_wrk "$out") || die "could not read wrk's output $out: $(cat "$out")"
  # shellcheck disable=SC2086
  set -- $before $after $times
  awk -v sc="$scenario" -v c="$conns" -v r="$run" -v p="$parsed" -v hz="$CLK_TCK" \
    -v sb1="$1" -v st1="$2" -v lb1="$3" -v lt1="$4" -v pt1="$5" -v ns1="$6" \
    -v sb2="$7" -v st2="$8" -v lb2="$9" -v lt2="${10}" -v pt2="${11}" -v ns2="${12}" \
    -v wu="${13}" -v ws="${14}" -v wr="${15}" 'BEGIN {
      split(p, f, " ")
      wall = (ns2 - ns1) / 1e9
      printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\n",
        sc, c, r, f[1], f[2], f[3], f[4], f[5], f[6], f[7],
        100 * (wu + ws) / wr, 100 * (pt2 - pt1) / hz / wall,
        100 * (sb2 - sb1) / (st2 - st1), 100 * (lb2 - lb1) / (lt2 - lt1) }'
}

# bench_one SCENARIO URL PID MODE CONNS RUN SECONDS: a measured run; with RETRIES, a run during
# which other work took QUIET_BUSY % or more of either CPU is kept as discarded (run -1: its
# answers still count for the checks) and measured again.
bench_one() {
  local row other attempt=0
  while :; do
    run_id=$((run_id + 1))
    wait_quiet
    row=$(measure "$@")
    other=$(awk -F'\t' '{ a = $13 - $12; b = $14 - $11; printf "%d\n", (a > b ? a : b) }' <<<"$row")
    if (($6 > 0 && other >= QUIET_BUSY && attempt < RETRIES)) && patience_left; then
      attempt=$((attempt + 1))
      row=$(awk -F'\t' -v OFS='\t' '{ $3 = -1; print }' <<<"$row")
      echo "$row" >>"$RESULTS"
      log "$1 c$5 run $6: discarded, other work took ${other} % of a CPU (retry $attempt of $RETRIES)"
      continue
    fi
    echo "$row" >>"$RESULTS"
    log "$(awk -F'\t' '{ printf "%-13s c%-3s run %s: %8.0f req/s  p50 %7.2f ms  p99 %7.2f ms  non-2xx %s  errors %s  wrk %s%%  server %s%%  other %d%%", $1, $2, $3, $4, $5, $6, $7, $8, $11, $12, other(($13 - $12), ($14 - $11)) }
    function other(a, b) { return a < 0 && b < 0 ? 0 : (a > b ? a : b) }' <<<"$row")"
    return 0
  done
}

scenario() { # scenario NAME URL PID MODE CONNS: warm-up, then RUNS runs
  bench_one "$1" "$2" "$3" "$4" "$5" 0 "$WARMUP"
  for run in $(seq "$RUNS"); do bench_one "$1" "$2" "$3" "$4" "$5" "$run" "$DURATION"; done
}

for conns in $CONNECTIONS; do
  scenario anchor-get "$ANCHOR" "$anchor_pid" get "$conns"
  scenario api-get "$API" "$daemon_pid" get "$conns"
  scenario anchor-patch "$ANCHOR" "$anchor_pid" patch "$conns"
  scenario api-patch "$API" "$daemon_pid" patch "$conns"
done

log "durable-commit floor of this disk (SQLite WAL, synchronous=FULL), on CPU $SERVER_CPU"
taskset -c "$SERVER_CPU" node --import tsx bench/api/commit-floor.ts --dir "$WORK" \
  --seconds 3 --runs "$RUNS" >"$WORK/commit-floor.txt"
cat "$WORK/commit-floor.txt" >&2

# Stop the daemon cleanly, so that the report can count the releases it committed.
stop_pid "$anchor_pid"
anchor_pid=''
stop_pid "$daemon_pid"
daemon_pid=''

# --- report ------------------------------------------------------------------------------------
{
  printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'commit\t%s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf 'node\t%s\n' "$(node --version)"
  printf 'wrk\t%s\n' "$(wrk --version 2>&1 | awk 'NR == 1 { print $2 }')"
  printf 'cpu\t%s\n' "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) ×$cpus"
  printf 'kernel\t%s\n' "$(uname -r)"
  printf 'fs\t%s\n' "$(df -PT "$WORK" | awk 'NR == 2 { print $2 " on " $1 }')"
  printf 'apps\t%s\n' "$APPS"
  printf 'app_bytes\t%s\n' "$api_size"
  printf 'duration\t%s\n' "$DURATION"
  printf 'runs\t%s\n' "$RUNS"
  printf 'warmup\t%s\n' "$WARMUP"
  printf 'server_cpu\t%s\n' "$SERVER_CPU"
  printf 'loadgen_cpu\t%s\n' "$LOADGEN_CPU"
  printf 'quiet_busy\t%s\n' "$QUIET_BUSY"
} >"$WORK/meta.tsv"
mkdir -p bench/results
report="bench/results/api-$(date -u +%Y-%m-%d-%H%M%S).md"
node --import tsx bench/api/report.ts --work "$WORK" --db "$WORK/data/localspace.db" |
  tee "$report"
log "wrote $report"
