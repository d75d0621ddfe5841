#!/usr/bin/env bash
# bench/dns: localspace's DNS against dnsmasq serving the same records, side by side in one
# run. Each server pinned to CPU $SERVER_CPU, dnsperf to CPU $LOADGEN_CPU; loopback only, in a
# throw-away network namespace (scripts/sandbox). Reports qps, loss, avg and p99 latency for
#   - throughput: as fast as dnsperf goes (100 queries outstanding);
#   - latency:    a fixed rate of $RATE qps (p99 from dnsperf -v, every response's latency).
#
#   sudo bench/dns/run.sh           knobs: DURATION=10 RUNS=3 DYNOS=50 RATE=10000
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
if [ "${LOCALSPACE_SANDBOX:-}" != 1 ]; then exec "$REPO/scripts/sandbox" "$0" "$@"; fi
DURATION="${DURATION:-10}" RUNS="${RUNS:-3}" DYNOS="${DYNOS:-50}" RATE="${RATE:-10000}"
SERVER_CPU="${SERVER_CPU:-0}" LOADGEN_CPU="${LOADGEN_CPU:-1}"
for cmd in dnsperf dnsmasq taskset; do
  command -v "$cmd" >/dev/null || { echo "missing $cmd (scripts/system-packages.txt)" >&2; exit 1; }
done
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

LS=127.10.0.1 DM=127.10.0.2 CLIENT=127.10.128.250
# Same records on both: N.web.shop.app.localspace → 127.10.128.N (one A record each).
: >"$WORK/queries"
: >"$WORK/dnsmasq.conf"
for n in $(seq 1 "$DYNOS"); do
  echo "$n.web.shop.app.localspace A" >>"$WORK/queries"
  echo "host-record=$n.web.shop.app.localspace,127.10.128.$n" >>"$WORK/dnsmasq.conf"
done

cd "$REPO"
GATEWAY=$LS DYNOS=$DYNOS taskset -c "$SERVER_CPU" node --import tsx bench/dns/server.ts >"$WORK/ls.log" 2>&1 &
PIDS+=($!)
taskset -c "$SERVER_CPU" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
  --listen-address=$DM --except-interface=none --conf-file="$WORK/dnsmasq.conf" \
  --pid-file= --user=root --cache-size=1000 --local-ttl=5 --log-facility=- >"$WORK/dm.log" 2>&1 &
PIDS+=($!)
for i in $(seq 1 100); do grep -q ready "$WORK/ls.log" && break; sleep 0.1; done
grep -q ready "$WORK/ls.log" || { cat "$WORK/ls.log"; exit 1; }
for s in $LS $DM; do
  got="$(dig @$s -b $CLIENT +short 1.web.shop.app.localspace)"
  [ "$got" = 127.10.128.1 ] || { echo "server $s answers '$got'" >&2; exit 1; }
done

# One dnsperf run: prints "qps lost avg_ms p99_ms".
perf() { # server, extra args...
  local server="$1"; shift
  taskset -c "$LOADGEN_CPU" dnsperf -s "$server" -a $CLIENT -d "$WORK/queries" -l "$DURATION" "$@" >"$WORK/out" 2>&1 || true
  local qps lost avg p99
  qps=$(awk '/Queries per second/ {print $4}' "$WORK/out")
  lost=$(awk '/Queries lost/ {print $3}' "$WORK/out")
  avg=$(awk '/Average Latency/ {printf "%.3f", $4*1000}' "$WORK/out")
  p99=$(awk '/^> NOERROR / {print $NF}' "$WORK/out" | sort -g | awk '{a[NR]=$1} END {if (NR) printf "%.3f", a[int(NR*0.99)]*1000; else print "-"}')
  echo "$qps $lost $avg $p99"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "# bench/dns — $(date -u +%FT%TZ), $(nproc) CPUs, dnsperf $(dnsperf -h 2>&1 | awk '/Version/ {print $2}'), $(dnsmasq --version | head -1)"
echo
echo "| mode | server | qps (median of $RUNS) | qps range | lost | avg ms | p99 ms |"
echo "|---|---|---|---|---|---|---|"
for mode in throughput latency; do
  for name in localspace dnsmasq; do
    server=$LS; [ $name = dnsmasq ] && server=$DM
    : >"$WORK/runs"
    perf "$server" -l 2 >/dev/null # warm-up
    for r in $(seq 1 "$RUNS"); do
      if [ $mode = throughput ]; then perf "$server" -q 100 >>"$WORK/runs"
      else perf "$server" -q 100 -Q "$RATE" -v >>"$WORK/runs"; fi
    done
    qps=$(awk '{print $1}' "$WORK/runs" | median)
    range="$(awk '{print $1}' "$WORK/runs" | sort -g | head -1)–$(awk '{print $1}' "$WORK/runs" | sort -g | tail -1)"
    lost=$(awk '{print $2}' "$WORK/runs" | paste -sd/)
    avg=$(awk '{print $3}' "$WORK/runs" | median)
    p99=$(awk '{print $4}' "$WORK/runs" | median)
    echo "| $mode | $name | $qps | $range | $lost | $avg | $p99 |"
    echo "$mode $name $qps" >>"$WORK/summary"
  done
done
echo
awk '{q[$1" "$2]=$3} END {printf "throughput ratio localspace/dnsmasq: %.2f×\n", q["throughput localspace"]/q["throughput dnsmasq"]}' "$WORK/summary"
