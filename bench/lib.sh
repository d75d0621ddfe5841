# bench/lib.sh — shell pieces the benchmarks share; sourced by bench/*/run.sh.
# Expects: log(), WAIT_QUIET, QUIET_BUSY, and SERVER_CPU and LOADGEN_CPU or BUSY_CPUS (a regex
# of the CPU numbers to watch, `[0-9]+` for all); optionally may_wait(), true while waiting is
# still allowed (bench/api stops waiting after PATIENCE seconds).

cpus_busy() { # the busiest of the watched CPUs over the next second, in %
  local a b cpus=${BUSY_CPUS:-$SERVER_CPU|$LOADGEN_CPU}
  a=$(grep -E "^cpu($cpus) " /proc/stat)
  sleep 1
  b=$(grep -E "^cpu($cpus) " /proc/stat)
  paste <(echo "$a") <(echo "$b") | awk '{
    t1 = 0; for (i = 2; i <= 11; i++) t1 += $i; t2 = 0; for (i = 13; i <= 22; i++) t2 += $i
    busy = 100 * ((t2 - $16 - $17) - (t1 - $5 - $6)) / (t2 - t1); if (busy > max) max = busy }
    END { printf "%d\n", max }'
}

wait_quiet() { # other work on the machine skews everything: wait for it, up to WAIT_QUIET s
  ((WAIT_QUIET > 0)) || return 0
  if declare -F may_wait >/dev/null && ! may_wait; then return 0; fi
  local deadline=$((SECONDS + WAIT_QUIET)) busy said=0
  while busy=$(cpus_busy) && ((busy >= QUIET_BUSY)); do
    if ((SECONDS >= deadline)); then
      log "CPUs still ${busy} % busy after ${WAIT_QUIET} s of waiting: measuring anyway"
      return 0
    fi
    ((said)) || log "waiting for the CPUs to be quiet (${busy} % busy)"
    said=1
  done
}
