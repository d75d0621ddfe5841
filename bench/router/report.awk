# bench/router/report.awk: results.tsv (part, path, conns, run, rps, p50_ms, p99_ms, non2xx,
# cpu0_busy, cpu1_busy, loadavg) -> the Markdown rows, then the targets of issue 6.
function med(list,   a, m, i, j, t) {
  m = split(substr(list, 2), a, " ")
  for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  lo = a[1]; hi = a[m]
  return a[int((m + 1) / 2)]
}
# The nginx row a path is compared with.
function anchor(part, path) {
  if (part == "one-core") return "nginx"
  return path ~ /2-workers$/ ? "nginx-2-workers" : "nginx-1-worker"
}
# "a, b, c (median m)": the ratio of k to anchor a in each round, the two measured a few seconds
# apart — a burst of other work on the machine spoils one round, not the median.
function rounds(k, a,   r, list, out) {
  list = ""; out = ""
  for (r = 1; r <= runs; r++) if ((k, r) in byrun && (a, r) in byrun && byrun[a, r] > 0) {
    list = list " " byrun[k, r] / byrun[a, r]
    out = out (out == "" ? "" : ", ") sprintf("%.2f", byrun[k, r] / byrun[a, r])
  }
  return out == "" ? "–" : out " (median " sprintf("%.2f", med(list)) ")"
}
NR > 1 {
  k = $1 SUBSEP $2 SUBSEP $3
  if (!(k in seen)) { order[++n] = k; seen[k] = 1 }
  rps[k] = rps[k] " " $5; p50[k] = p50[k] " " $6; p99[k] = p99[k] " " $7; bad[k] += $8
  byrun[k, $4] = $5; if ($4 > runs) runs = $4
  c0[k] = c0[k] " " $9; c1[k] = c1[k] " " $10; la[k] = $11
}
END {
  for (i = 1; i <= n; i++) {
    k = order[i]; split(k, kk, SUBSEP)
    R[k] = med(rps[k]); rlo[k] = lo; rhi[k] = hi; P50[k] = med(p50[k]); P99[k] = med(p99[k])
  }
  for (i = 1; i <= n; i++) {
    k = order[i]; split(k, kk, SUBSEP)
    a = kk[1] SUBSEP anchor(kk[1], kk[2]) SUBSEP kk[3]
    ratio = (a in R) && R[a] > 0 && a != k ? sprintf("%.2f", R[k] / R[a]) : "–"
    printf "| %s | %s | %s | %.0f | %.0f–%.0f | %s | %.3f | %.3f | %d | %s | %s | %s |\n",
      kk[1], kk[2], kk[3], R[k], rlo[k], rhi[k], ratio, P50[k], P99[k], bad[k], med(c0[k]), med(c1[k]), la[k]
  }
  print ""
  print "Targets (issue 6), from the medians above:"
  print ""
  for (i = 1; i <= n; i++) {
    k = order[i]; split(k, kk, SUBSEP)
    if (kk[1] != "one-core" || kk[2] != "router") continue
    c = kk[3]; ng = "one-core" SUBSEP "nginx" SUBSEP c; d = "one-core" SUBSEP "direct" SUBSEP c
    tk = "one-core" SUBSEP "router-10k-ranges" SUBSEP c
    if (ng in R && R[ng] > 0)
      printf "- %s conns, one core: router %.0f req/s = %.2f× nginx (target ≥ 0.6×); round by round %s\n",
        c, R[k], R[k] / R[ng], rounds(k, ng)
    if (c == 1 && d in P50)
      printf "- 1 conn: added latency over direct %.0f µs p50 (target ≤ 150 µs)\n", 1000 * (P50[k] - P50[d])
    if (tk in R && R[k] > 0)
      printf "- %s conns: 10,000 ranges cost %.1f %% of req/s (target ≤ 5 %%); router-10k-ranges / router round by round %s\n",
        c, 100 * (1 - R[tk] / R[k]), rounds(tk, k)
  }
  for (i = 1; i <= n; i++) {
    k = order[i]; split(k, kk, SUBSEP)
    if (kk[1] != "cores" || kk[2] != "router-2-workers") continue
    c = kk[3]; r1 = "cores" SUBSEP "router-1-worker" SUBSEP c
    n1 = "cores" SUBSEP "nginx-1-worker" SUBSEP c; n2 = "cores" SUBSEP "nginx-2-workers" SUBSEP c
    if (r1 in R && n1 in R && n2 in R && R[r1] > 0 && R[n1] > 0 && R[n2] > 0)
      printf "- cores, %s conns: router 2 workers / 1 worker = %.2f (nginx 2 / 1 worker_processes = %.2f); router 2 workers = %.2f× nginx 2\n",
        c, R[k] / R[r1], R[n2] / R[n1], R[k] / R[n2]
  }
}
