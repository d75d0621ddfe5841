#!/usr/bin/env bash
# bench/dns: localspace's DNS against dnsmasq serving the same records, side by side in one
# run, with the Node dgram floor (bench/dns/floor.ts) as a third row. Each server pinned to
# CPU $SERVER_CPU, dnsperf to CPU $LOADGEN_CPU; loopback only, in a throw-away network
# namespace (scripts/sandbox). Reports qps, loss, avg and p99 latency for
#   - throughput: as fast as dnsperf goes (100 queries outstanding);
#   - latency:    a fixed rate of $RATE qps (p99 from dnsperf -v, every response's latency).
# The servers take turns run by run, so other work on a shared machine falls on all of them.
#
#   sudo bench/dns/run.sh           knobs: DURATION=10 RUNS=3 DYNOS=50 RATE=10000
#                                   WAIT_QUIET=0 QUIET_BUSY=15 (see bench/README.md)
#                                   MODES="throughput latency" (either alone, or both)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
"$REPO/scripts/sandbox" --inside || exec "$REPO/scripts/sandbox" "$0" "$@"
DURATION="${DURATION:-10}" RUNS="${RUNS:-3}" DYNOS="${DYNOS:-50}" RATE="${RATE:-10000}"
SERVER_CPU="${SERVER_CPU:-0}" LOADGEN_CPU="${LOADGEN_CPU:-1}"
WAIT_QUIET="${WAIT_QUIET:-0}" QUIET_BUSY="${QUIET_BUSY:-15}" MODES="${MODES:-throughput latency}"
for cmd in dnsperf dnsmasq taskset; do
  command -v "$cmd" >/dev/null || { echo "missing $cmd (scripts/system-packages.txt)" >&2; exit 1; }
done
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

LS=127.10.0.1 DM=127.10.0.2 FLOOR=127.10.0.4 CLIENT=127.10.128.250
SERVERS=(localspace node-floor dnsmasq)
declare -A ADDRESS=([localspace]=$LS [node-floor]=$FLOOR [dnsmasq]=$DM) PID
# Same records on both: N.web.shop.app.localspace → 127.10.128.N (one A record each).
: >"$WORK/queries"
: >"$WORK/dnsmasq.conf"
for n in $(seq 1 "$DYNOS"); do
  echo "$n.web.shop.app.localspace A" >>"$WORK/queries"
  echo "host-record=$n.web.shop.app.localspace,127.10.128.$n" >>"$WORK/dnsmasq.conf"
done

cd "$REPO"
GATEWAY=$LS DYNOS=$DYNOS taskset -c "$SERVER_CPU" node --import tsx bench/dns/server.ts >"$WORK/ls.log" 2>&1 &
PIDS+=($!) PID[localspace]=$!
ADDRESS=$FLOOR taskset -c "$SERVER_CPU" node --import tsx bench/dns/floor.ts >"$WORK/floor.log" 2>&1 &
PIDS+=($!) PID[node-floor]=$!
taskset -c "$SERVER_CPU" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
  --listen-address=$DM --except-interface=none --conf-file="$WORK/dnsmasq.conf" \
  --pid-file= --user=root --cache-size=1000 --local-ttl=5 --log-facility=- >"$WORK/dm.log" 2>&1 &
PIDS+=($!) PID[dnsmasq]=$!
for log in ls floor; do
  for i in $(seq 1 100); do grep -q ready "$WORK/$log.log" && break; sleep 0.1; done
  grep -q ready "$WORK/$log.log" || { cat "$WORK/$log.log"; exit 1; }
done
for s in $LS $DM $FLOOR; do
  got="$(dig @$s -b $CLIENT +short +tries=5 1.web.shop.app.localspace)"
  [ "$got" = 127.10.128.1 ] || { echo "server $s answers '$got'" >&2; exit 1; }
done

# CPU ticks: "busy(server cpu) total(server cpu) busy(loadgen cpu) total(loadgen cpu)"; busy
# is user + nice + system + steal (the softirq time of our own loopback traffic left out).
cpu_ticks() {
  awk -v s="cpu$SERVER_CPU" -v l="cpu$LOADGEN_CPU" '
    $1 == s || $1 == l { t = 0; for (i = 2; i <= 9; i++) t += $i; b[$1] = $2 + $3 + $4 + $9; T[$1] = t }
    END { print b[s], T[s], b[l], T[l] }' /proc/stat
}
proc_ticks() { local st; read -r -a st <"/proc/$1/stat"; echo $((st[13] + st[14])); }
log() { echo "[bench/dns] $*" >&2; }
# shellcheck source=bench/lib.sh
source bench/lib.sh

# One dnsperf run against a server: prints "qps lost avg_ms p99_ms other_% dnsperf_% us", where
# other_% is the larger share of either CPU that went to anything but that server and dnsperf,
# dnsperf_% is dnsperf's share of its CPU (near 100: it, not the server, was the limit) and us
# is the server's CPU time per answer in µs (holds better than qps on a shared machine). Fails
# the bench unless every answer was NOERROR (a server answering REFUSED is fast and wrong).
perf() { # server name, extra args...
  local name="$1"; shift
  local before after server0 server1
  before=$(cpu_ticks) server0=$(proc_ticks "${PID[$name]}")
  # dnsperf's own CPU: the ticks of the shell's waited-for child (cutime + cstime).
  taskset -c "$LOADGEN_CPU" bash -c 'dnsperf "$@" >"'"$WORK"'/out" 2>&1; read -r -a st </proc/$$/stat
    echo $((st[15] + st[16])) >"'"$WORK"'/loadgen"' dnsperf \
    -s "${ADDRESS[$name]}" -a $CLIENT -d "$WORK/queries" -l "$DURATION" "$@" || true
  after=$(cpu_ticks) server1=$(proc_ticks "${PID[$name]}")
  grep -Eq 'Response codes: +NOERROR [0-9]+ \(100.00%\)$' "$WORK/out" || {
    echo "$name: not every answer was NOERROR:" >&2; cat "$WORK/out" >&2; exit 1
  }
  local qps lost avg p99 other answers
  answers=$(awk '/Queries completed/ {print $3}' "$WORK/out")
  qps=$(awk '/Queries per second/ {printf "%.0f", $4}' "$WORK/out")
  lost=$(awk '/Queries lost/ {print $3}' "$WORK/out")
  avg=$(awk '/Average Latency/ {printf "%.3f", $4*1000}' "$WORK/out")
  p99=$(awk '/^> NOERROR / {print $NF}' "$WORK/out" | sort -g | awk '{a[NR]=$1} END {if (NR) printf "%.3f", a[int(NR*0.99)]*1000; else print "-"}')
  other=$(echo "$before $after $((server1 - server0)) $(cat "$WORK/loadgen") $answers" | awk -v hz="$(getconf CLK_TCK)" '{
    s = 100 * ($5 - $1 - $9) / ($6 - $2); l = 100 * ($7 - $3 - $10) / ($8 - $4)
    m = s > l ? s : l; printf "%d %d %.2f\n", m < 0 ? 0 : m, 100 * $10 / ($8 - $4), 1e6 * $9 / hz / $11 }')
  echo "$qps $lost $avg $p99 $other"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

mkdir -p "$REPO/bench/results"
RESULTS="$REPO/bench/results/dns-$(date -u +%F-%H%M%S).md"
{
  echo "# bench/dns — $(date -u +%FT%TZ), $(nproc) CPUs, dnsperf $(dnsperf -h 2>&1 | awk '/Version/ {print $2}'), $(dnsmasq --version | head -1 | awk '{print $1, $2, $3}'), node $(node --version)"
  echo
  echo "DURATION=$DURATION RUNS=$RUNS DYNOS=$DYNOS RATE=$RATE; servers on CPU $SERVER_CPU, dnsperf on CPU $LOADGEN_CPU; every answer NOERROR."
  echo
  echo "| mode | server | qps (median of $RUNS) | qps per run | lost | avg ms | p99 ms (per run) | server CPU µs/answer | dnsperf CPU % | other load % per run |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} | tee "$RESULTS"
for mode in $MODES; do
  for name in "${SERVERS[@]}"; do perf "$name" -l 2 >/dev/null; done # warm-up
  for name in "${SERVERS[@]}"; do : >"$WORK/runs.$name"; done
  for r in $(seq 1 "$RUNS"); do
    for name in "${SERVERS[@]}"; do
      wait_quiet
      if [ $mode = throughput ]; then perf "$name" -q 100 >>"$WORK/runs.$name"
      else perf "$name" -q 100 -Q "$RATE" -v >>"$WORK/runs.$name"; fi
    done
  done
  for name in "${SERVERS[@]}"; do
    runs="$WORK/runs.$name"
    cp "$runs" "$WORK/$mode.$name"
    qps=$(awk '{print $1}' "$runs" | median)
    echo "| $mode | $name | $qps | $(awk '{print $1}' "$runs" | paste -sd/) | $(awk '{print $2}' "$runs" | paste -sd/) | $(awk '{print $3}' "$runs" | median) | $(awk '{print $4}' "$runs" | median) ($(awk '{print $4}' "$runs" | paste -sd/)) | $(awk '{print $7}' "$runs" | median) | $(awk '{print $6}' "$runs" | paste -sd/) | $(awk '{print $5}' "$runs" | paste -sd/) |" | tee -a "$RESULTS"
    echo "$mode $name $qps" >>"$WORK/summary"
  done
done
[[ " $MODES " == *" throughput "* ]] && {
  echo
  awk '{q[$1" "$2]=$3} END {
    printf "throughput ratio localspace/dnsmasq: %.2f×; Node dgram floor/dnsmasq: %.2f× (medians)\n",
      q["throughput localspace"]/q["throughput dnsmasq"], q["throughput node-floor"]/q["throughput dnsmasq"] }' "$WORK/summary"
  # Run r of each server ran back to back, under much the same other load: their ratio, run by run.
  echo "localspace/dnsmasq run by run (throughput): $(paste -d' ' "$WORK/throughput.localspace" "$WORK/throughput.dnsmasq" |
    awk '{printf "%s%.2f×", (NR > 1 ? " / " : ""), $1 / $8}')"
} | tee -a "$RESULTS"
echo "(written to ${RESULTS#"$REPO/"})"
