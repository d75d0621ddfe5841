#!/usr/bin/env bash
# bench/router — the router against nginx as a reverse proxy, side by side in one run.
#
# One upstream (nginx `return 200`, the "dyno"), then through:
#   one core (servers on SERVER_CPU, wrk on LOADGEN_CPU): nothing (direct); nginx, 1 worker,
#   upstream keepalive, a `geo` allow-list (benchmarking.md's reference config); the localspace
#   router in one process with 1 trusted range, and with 10,000;
#   cores (every server and wrk on SCALE_CPUS): nginx with 1 and with 2 worker_processes, the
#   router with 1 and with 2 worker processes (RouterWorkers, as `--router-workers N`).
# All on loopback inside a throw-away network namespace (scripts/sandbox).
#
#   sudo bench/router/run.sh
#
# Knobs: CONNECTIONS="50 1" DURATION=10 RUNS=5 WARMUP=2 SERVER_CPU=0 LOADGEN_CPU=1
#   SCALE_CPUS=0,1 SCALE_CONNECTIONS=100 SCALE=1 (0: skip the cores part) KEEP=0
#   WAIT_QUIET=0: before each round (one run of every path), wait up to this many seconds for
#   both CPUs to be under QUIET_BUSY=15 % busy — this machine is shared; on it:
#   WAIT_QUIET=60.
# Every row records how busy both CPUs were during its run (busy: all but idle and iowait —
# softirq included, where most of loopback's network stack runs) and the load average,
# because other work inflates everything. The report ends with the cost of the trusted-range
# check alone (ranges.ts): too small for the side-by-side runs to resolve.
# Writes Markdown to stdout and bench/results/router-<date>.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
CONNECTIONS=${CONNECTIONS:-"50 1"}
DURATION=${DURATION:-10}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-2}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
SCALE_CPUS=${SCALE_CPUS:-0,1}
SCALE_CONNECTIONS=${SCALE_CONNECTIONS:-100}
SCALE=${SCALE:-1}
KEEP=${KEEP:-0}
WAIT_QUIET=${WAIT_QUIET:-0}
QUIET_BUSY=${QUIET_BUSY:-15}
log() { echo "[bench/router] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

for tool in wrk nginx taskset curl; do
  command -v "$tool" >/dev/null || {
    [[ $(id -u) -eq 0 ]] || die "$tool is missing (apt-get install wrk nginx)"
    pkg=$tool
    [[ $tool == taskset ]] && pkg=util-linux
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2
  }
done
scripts/sandbox --inside || exec scripts/sandbox "$0" "$@"

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/localspace-bench-router.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

UP=127.0.0.1:9001
upstream_conf() { # upstream_conf WORKERS PORT: nginx answering `return 200`
  cat <<CONF
worker_processes $1; daemon off; pid $WORK/up.pid; error_log $WORK/up.err warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000;
  server { listen $2; location / { return 200 "hello from dyno\n"; } } }
CONF
}
proxy_conf() { # proxy_conf NAME WORKERS PORT: nginx as the reverse proxy
  cat <<CONF
worker_processes $2; daemon off; pid $WORK/$1.pid; error_log $WORK/$1.err warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000;
  upstream dynos { server $UP; keepalive 64; }
  geo \$allowed { default 0; 127.0.0.0/8 1; 10.0.0.0/8 1; }
  server { listen $3;
    location / { if (\$allowed = 0) { return 403; } proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_pass http://dynos; } } }
CONF
}
start() { # start NAME CPUS CMD...: a server pinned to CPUS
  local name=$1 cpus=$2
  shift 2
  taskset -c "$cpus" "$@" >"$WORK/$name.log" 2>&1 &
  pids+=($!)
}
router() { # router NAME CPUS PORT ARGS...: bench/router/server.ts
  local name=$1 cpus=$2 port=$3
  shift 3
  start "$name" "$cpus" node --import tsx bench/router/server.ts --listen "127.0.0.1:$port" \
    --upstream "$UP" "$@"
}

upstream_conf 1 "$UP" >"$WORK/upstream.conf"
start upstream "$SERVER_CPU" nginx -c "$WORK/upstream.conf"
proxy_conf nginx 1 127.0.0.1:9101 >"$WORK/nginx.conf"
start nginx "$SERVER_CPU" nginx -c "$WORK/nginx.conf"
router router "$SERVER_CPU" 9100 --ranges 1
router router10k "$SERVER_CPU" 9110 --ranges 10000
ONE_CORE="direct:$UP nginx:127.0.0.1:9101 router:127.0.0.1:9100 router-10k-ranges:127.0.0.1:9110"
CORES=""
if [[ $SCALE == 1 ]]; then
  proxy_conf nginx1 1 127.0.0.1:9201 >"$WORK/nginx1.conf"
  proxy_conf nginx2 2 127.0.0.1:9202 >"$WORK/nginx2.conf"
  start nginx1 "$SCALE_CPUS" nginx -c "$WORK/nginx1.conf"
  start nginx2 "$SCALE_CPUS" nginx -c "$WORK/nginx2.conf"
  router workers1 "$SCALE_CPUS" 9211 --ranges 1 --workers 1
  router workers2 "$SCALE_CPUS" 9212 --ranges 1 --workers 2
  CORES="nginx-1-worker:127.0.0.1:9201 nginx-2-workers:127.0.0.1:9202"
  CORES+=" router-1-worker:127.0.0.1:9211 router-2-workers:127.0.0.1:9212"
fi
for path in $ONE_CORE $CORES; do
  url="http://${path#*:}/"
  for _ in $(seq 200); do
    [[ $(curl -s -H 'Host: bench.localhost' "$url" 2>/dev/null) == 'hello from dyno' ]] && continue 2
    sleep 0.1
  done
  die "$url does not answer 'hello from dyno'"
done

cpu_busy() { # "<busy> <total>" for one CPU from /proc/stat
  awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
# shellcheck source=bench/lib.sh
source bench/lib.sh

RESULTS="$WORK/results.tsv"
printf 'part\tpath\tconns\trun\trps\tp50_ms\tp99_ms\tnon2xx\tcpu0_busy\tcpu1_busy\tloadavg\n' >"$RESULTS"
measure() { # measure PART NAME URL CONNS RUN SECS WRK_CPUS
  local out="$WORK/$2-c$4-r$5.txt" s1 l1 s2 l2
  s1=$(cpu_busy "$SERVER_CPU")
  l1=$(cpu_busy "$LOADGEN_CPU")
  taskset -c "$7" wrk -t1 -c"$4" -d"$6s" --latency -H 'Host: bench.localhost' "$3" >"$out" 2>&1
  s2=$(cpu_busy "$SERVER_CPU")
  l2=$(cpu_busy "$LOADGEN_CPU")
  [[ $5 == 0 ]] && return 0
  grep -q '^Requests/sec:' "$out" || log "wrk failed for $2: $(cat "$out")"
  awk -v part="$1" -v n="$2" -v c="$4" -v r="$5" -v s="$s1 $s2" -v l="$l1 $l2" \
    -v la="$(cut -d' ' -f1-3 /proc/loadavg)" '
    function ms(v,   x, u) { x = v + 0; u = v; sub(/^[0-9.]+/, "", u)
      return u == "us" ? x / 1000 : u == "ms" ? x : u == "s" ? x * 1000 : x }
    /^Requests\/sec:/ { rps = $2 } /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $NF }
    END { split(s, S, " "); split(l, L, " ")
      printf "%s\t%s\t%s\t%s\t%.0f\t%.3f\t%.3f\t%d\t%.0f\t%.0f\t%s\n", part, n, c, r, rps, p50, p99, bad,
        100 * (S[3] - S[1]) / (S[4] - S[2]), 100 * (L[3] - L[1]) / (L[4] - L[2]), la }' "$out" >>"$RESULTS"
  log "$(tail -n 1 "$RESULTS")"
}
part() { # part NAME CONNS WRK_CPUS PATHS...: warm-up, then RUNS interleaved rounds
  local name=$1 conns=$2 cpus=$3 path
  shift 3
  for path in "$@"; do measure "$name" "${path%%:*}" "http://${path#*:}/" "$conns" 0 "$WARMUP" "$cpus"; done
  # Interleaved, so that a burst of other load hits every path alike; every other round in
  # reverse order, so that no path always follows the same one.
  local -a order=("$@") reversed=()
  for ((i = $# - 1; i >= 0; i--)); do reversed+=("${order[i]}"); done
  for run in $(seq "$RUNS"); do
    wait_quiet
    local -a paths=("${order[@]}")
    ((run % 2 == 0)) && paths=("${reversed[@]}")
    for path in "${paths[@]}"; do
      measure "$name" "${path%%:*}" "http://${path#*:}/" "$conns" "$run" "$DURATION" "$cpus"
    done
  done
}
for conns in $CONNECTIONS; do
  # shellcheck disable=SC2086
  part one-core "$conns" "$LOADGEN_CPU" $ONE_CORE
done
# shellcheck disable=SC2086
[[ $SCALE == 1 ]] && part cores "$SCALE_CONNECTIONS" "$SCALE_CPUS" $CORES

mkdir -p bench/results
report="bench/results/router-$(date -u +%Y-%m-%d-%H%M%S).md"
{
  echo "# Router vs nginx ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "node $(node --version), $(nginx -v 2>&1 | sed 's/.*: //'), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) ×$(nproc --all);"
  echo "one core: servers on CPU $SERVER_CPU, wrk -t1 on CPU $LOADGEN_CPU; cores: servers and wrk on CPUs $SCALE_CPUS;"
  echo "${DURATION}s × $RUNS interleaved runs (median; min–max of req/s). ×nginx: against nginx of the same part and connections (2 workers: nginx with 2)."
  echo
  echo '| part | path | conns | req/s (median) | req/s min–max | ×nginx | p50 ms | p99 ms | non-2xx | CPU0 busy % | CPU1 busy % | loadavg |'
  echo '|---|---|---|---|---|---|---|---|---|---|---|---|'
  awk -F'\t' -f bench/router/report.awk "$RESULTS"
  echo
  echo "The trusted-range check alone (bench/router/ranges.ts on CPU $SERVER_CPU):"
  echo
  taskset -c "$SERVER_CPU" node --import tsx bench/router/ranges.ts | sed 's/^/- /'
} | tee "$report"
log "wrote $report"
