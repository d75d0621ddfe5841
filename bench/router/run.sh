#!/usr/bin/env bash
# bench/router — the router against nginx as a reverse proxy, side by side in one run.
#
# One upstream (nginx `return 200`, the "dyno"), then through: nothing (direct), nginx 1 worker
# with upstream keepalive and a `geo` allow-list (benchmarking.md's reference config), the
# localspace router with 1 trusted range, and with 10,000. Every server is pinned to CPU 0,
# wrk to CPU 1; all on loopback inside a throw-away network namespace (scripts/sandbox).
#
#   sudo bench/router/run.sh
#
# Knobs: CONNECTIONS="50 1" DURATION=10 RUNS=3 WARMUP=2 SERVER_CPU=0 LOADGEN_CPU=1 KEEP=0
# Every row records how busy both CPUs were during the run (busy = user+nice+system+steal)
# and the load average, because this machine is shared: other work inflates everything.
# Writes Markdown to stdout and bench/results/router-<date>.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
CONNECTIONS=${CONNECTIONS:-"50 1"}
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-2}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
KEEP=${KEEP:-0}
log() { echo "[bench/router] $*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in wrk nginx taskset curl; do
  command -v "$tool" >/dev/null || {
    [[ $(id -u) -eq 0 ]] || die "$tool is missing (apt-get install wrk nginx)"
    pkg=$tool; [[ $tool == taskset ]] && pkg=util-linux
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2
  }
done
if [[ ${LOCALSPACE_SANDBOX:-} != 1 ]]; then exec scripts/sandbox "$0" "$@"; fi

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

UP=127.0.0.1:9001 NGINX=127.0.0.1:9101 ROUTER1=127.0.0.1:9100 ROUTER10K=127.0.0.1:9110
cat >"$WORK/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/up.pid; error_log $WORK/up.err warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000;
  server { listen $UP; location / { return 200 "hello from dyno\n"; } } }
CONF
cat >"$WORK/proxy.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/proxy.pid; error_log $WORK/proxy.err warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000;
  upstream dynos { server $UP; keepalive 64; }
  geo \$allowed { default 0; 127.0.0.0/8 1; 10.0.0.0/8 1; }
  server { listen $NGINX;
    location / { if (\$allowed = 0) { return 403; } proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_pass http://dynos; } } }
CONF
start() { # start NAME CMD...: pinned to the server CPU
  local name=$1; shift
  taskset -c "$SERVER_CPU" "$@" >"$WORK/$name.log" 2>&1 &
  pids+=($!)
}
start upstream nginx -c "$WORK/upstream.conf"
start proxy nginx -c "$WORK/proxy.conf"
start router1 node --import tsx bench/router/server.ts --listen "$ROUTER1" --upstream "$UP" --ranges 1
start router10k node --import tsx bench/router/server.ts --listen "$ROUTER10K" --upstream "$UP" --ranges 10000
for url in "http://$UP/" "http://$NGINX/" "http://$ROUTER1/" "http://$ROUTER10K/"; do
  for _ in $(seq 100); do
    [[ $(curl -s -H 'Host: bench.localhost' "$url" 2>/dev/null) == 'hello from dyno' ]] && continue 2
    sleep 0.1
  done
  die "$url does not answer 'hello from dyno'"
done

cpu_busy() { # "<busy> <total>" for one CPU from /proc/stat
  awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print $2 + $3 + $4 + $9, t }' /proc/stat
}
RESULTS="$WORK/results.tsv"
printf 'path\tconns\trun\trps\tp50_ms\tp99_ms\tnon2xx\tserver_cpu_busy\tloadgen_cpu_busy\tloadavg\n' >"$RESULTS"
measure() { # measure NAME URL CONNS RUN SECS
  local out="$WORK/$1-c$3-r$4.txt" s1 l1 s2 l2
  s1=$(cpu_busy "$SERVER_CPU"); l1=$(cpu_busy "$LOADGEN_CPU")
  taskset -c "$LOADGEN_CPU" wrk -t1 -c"$3" -d"$5s" --latency -H 'Host: bench.localhost' "$2" >"$out" 2>&1
  s2=$(cpu_busy "$SERVER_CPU"); l2=$(cpu_busy "$LOADGEN_CPU")
  [[ $4 == 0 ]] && return 0
  awk -v n="$1" -v c="$3" -v r="$4" -v s="$s1 $s2" -v l="$l1 $l2" -v la="$(cut -d' ' -f1-3 /proc/loadavg)" '
    function ms(v,   x, u) { x = v + 0; u = v; sub(/^[0-9.]+/, "", u)
      return u == "us" ? x / 1000 : u == "ms" ? x : u == "s" ? x * 1000 : x }
    /^Requests\/sec:/ { rps = $2 } /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $NF }
    END { split(s, S, " "); split(l, L, " ")
      printf "%s\t%s\t%s\t%.0f\t%.3f\t%.3f\t%d\t%.0f\t%.0f\t%s\n", n, c, r, rps, p50, p99, bad,
        100 * (S[3] - S[1]) / (S[4] - S[2]), 100 * (L[3] - L[1]) / (L[4] - L[2]), la }' "$out" >>"$RESULTS"
  log "$(tail -n 1 "$RESULTS")"
}
for conns in $CONNECTIONS; do
  for path in direct:$UP nginx:$NGINX router:$ROUTER1 router-10k-ranges:$ROUTER10K; do
    name=${path%%:*}; url="http://${path#*:}/"
    measure "$name" "$url" "$conns" 0 "$WARMUP"
  done
  # Interleaved runs, so that a burst of other load hits every path alike.
  for run in $(seq "$RUNS"); do
    for path in direct:$UP nginx:$NGINX router:$ROUTER1 router-10k-ranges:$ROUTER10K; do
      measure "${path%%:*}" "http://${path#*:}/" "$conns" "$run" "$DURATION"
    done
  done
done

mkdir -p bench/results
report="bench/results/router-$(date -u +%Y-%m-%d-%H%M%S).md"
{
  echo "# Router vs nginx ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "node $(node --version), $(nginx -v 2>&1 | sed 's/.*: //'), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) ×$(nproc --all);"
  echo "servers on CPU $SERVER_CPU, wrk -t1 on CPU $LOADGEN_CPU, ${DURATION}s × $RUNS runs (median; min–max of req/s)."
  echo
  echo '| path | conns | req/s (median) | req/s min–max | ×nginx | p50 ms | p99 ms | non-2xx | server CPU busy % | wrk CPU busy % | loadavg |'
  echo '|---|---|---|---|---|---|---|---|---|---|---|'
  awk -F'\t' 'NR > 1 { k = $1 "\t" $2; if (!(k in seen)) { order[++n] = k; seen[k] = 1 }
      rps[k] = rps[k] " " $4; p50[k] = p50[k] " " $5; p99[k] = p99[k] " " $6; bad[k] += $7
      sb[k] = sb[k] " " $8; lb[k] = lb[k] " " $9; la[k] = $10 }
    function med(list,   a, m, i, j, t) { m = split(substr(list, 2), a, " ")
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      lo = a[1]; hi = a[m]; return a[int((m + 1) / 2)] }
    END { for (i = 1; i <= n; i++) { k = order[i]; split(k, kk, "\t")
        r = med(rps[k]); rlo = lo; rhi = hi; if (kk[1] == "nginx") base[kk[2]] = r
        ratio = (kk[2] in base) && base[kk[2]] > 0 ? sprintf("%.2f", r / base[kk[2]]) : "–"
        printf "| %s | %s | %.0f | %.0f–%.0f | %s | %.3f | %.3f | %d | %s | %s | %s |\n",
          kk[1], kk[2], r, rlo, rhi, ratio, med(p50[k]), med(p99[k]), bad[k], med(sb[k]), med(lb[k]), la[k] } }' "$RESULTS"
} | tee "$report"
log "wrote $report"
