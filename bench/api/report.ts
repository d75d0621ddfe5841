/**
 * Turns a bench/api/run.sh work dir into the Markdown summary: medians of the measured runs,
 * spread, ratios to the anchor, the floor, who was the bottleneck, and the checks that
 * the answers were right (no non-2xx, every acknowledged PATCH is a release in the store).
 *
 *   node --import tsx bench/api/report.ts --work DIR [--db DIR/data/localspace.db]
 *
 * Exits 1 (after printing the report) when a check failed.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'

const { values } = parseArgs({ options: { work: { type: 'string' }, db: { type: 'string' } } })
if (!values.work) {
  console.error('usage: report.ts --work DIR [--db FILE]')
  process.exit(2)
}
const work = values.work

interface Row {
  scenario: string
  conns: number
  run: number
  rps: number
  p50_ms: number
  p99_ms: number
  non2xx: number
  errors: number
  requests: number
  ok: number
  wrk_cpu: number
  server_cpu: number
  cpu_server_busy: number
  cpu_loadgen_busy: number
}

const tsv = readFileSync(join(work, 'results.tsv'), 'utf8').trim().split('\n')
const header = tsv[0]!.split('\t')
const rows: Row[] = tsv.slice(1).map((line) => {
  const cells = line.split('\t')
  const row: Record<string, string | number> = {}
  header.forEach((h, i) => (row[h] = h === 'scenario' ? cells[i]! : Number(cells[i])))
  return row as unknown as Row
})
const meta = new Map(
  readFileSync(join(work, 'meta.tsv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split('\t') as [string, string]),
)

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const int = (n: number) => Math.round(n).toLocaleString('en-US')
const ms = (n: number) => (n < 1 ? n.toFixed(2) : n < 10 ? n.toFixed(1) : n.toFixed(0)) + ' ms'

interface Summary {
  rps: number
  min: number
  max: number
  p50: number
  p99: number
  non2xx: number
  errors: number
  wrk: number
  server: number
  cpuPerReq: number
  foreignServer: number
  foreignLoadgen: number
}

function summarize(scenario: string, conns: number): Summary | undefined {
  const measured = rows.filter((r) => r.scenario === scenario && r.conns === conns && r.run > 0)
  if (measured.length === 0) return undefined
  const all = rows.filter((r) => r.scenario === scenario && r.conns === conns)
  const rps = measured.map((r) => r.rps)
  return {
    rps: median(rps),
    min: Math.min(...rps),
    max: Math.max(...rps),
    p50: median(measured.map((r) => r.p50_ms)),
    p99: median(measured.map((r) => r.p99_ms)),
    // Warm-up answers count too: a wrong answer is wrong whenever it came.
    non2xx: all.reduce((n, r) => n + r.non2xx, 0),
    errors: all.reduce((n, r) => n + r.errors, 0),
    wrk: median(measured.map((r) => r.wrk_cpu)),
    server: median(measured.map((r) => r.server_cpu)),
    // CPU time the server spent per answer: holds better than req/s when the CPU is shared.
    cpuPerReq: median(measured.map((r) => (r.server_cpu * 1e4) / r.rps)),
    // What else ran on the two CPUs: their busy time less ours (other processes, IRQs).
    foreignServer: median(measured.map((r) => Math.max(0, r.cpu_server_busy - r.server_cpu))),
    foreignLoadgen: median(measured.map((r) => Math.max(0, r.cpu_loadgen_busy - r.wrk_cpu))),
  }
}

function bottleneck(s: Summary): string {
  const parts: string[] = []
  if (s.wrk >= 90) parts.push(`**wrk** (${s.wrk.toFixed(0)} % CPU): load generator bound`)
  if (s.server >= 90) parts.push(`server (${s.server.toFixed(0)} % CPU)`)
  if (parts.length === 0) {
    parts.push(`neither saturated: server ${s.server.toFixed(0)} %, wrk ${s.wrk.toFixed(0)} %`)
  } else if (s.wrk < 90) {
    parts.push(`wrk ${s.wrk.toFixed(0)} %`)
  }
  if (s.foreignServer >= 5) parts.push(`⚠ CPU 0 also ${s.foreignServer.toFixed(0)} % other load`)
  if (s.foreignLoadgen >= 5) parts.push(`⚠ CPU 1 also ${s.foreignLoadgen.toFixed(0)} % other load`)
  return parts.join('; ')
}

const conns = [...new Set(rows.map((r) => r.conns))]
const appBytes = meta.get('app_bytes') ?? '?'
const scenarios: Array<[string, string, string | undefined]> = [
  ['anchor-get', `anchor: bare Fastify, GET fixed JSON (${appBytes} B)`, undefined],
  ['api-get', 'localspace GET /apps/{app}', 'anchor-get'],
  ['anchor-patch', 'anchor: bare Fastify, PATCH merge into an in-memory map', undefined],
  ['api-patch', 'localspace PATCH /apps/{app}/config-vars', 'anchor-patch'],
]

const out: string[] = []
const failures: string[] = []
out.push(`# Platform API benchmark — ${meta.get('date')}`, '')
out.push(
  `${meta.get('apps')} apps in one space; daemon and anchor pinned to CPU ${meta.get('server_cpu')}, ` +
    `\`wrk -t1\` pinned to CPU ${meta.get('loadgen_cpu')}; ${meta.get('warmup')} s warm-up, then ` +
    `${meta.get('runs')} runs of ${meta.get('duration')} s: median (min–max) req/s, median p50 and p99. ` +
    `Commit ${meta.get('commit')}, Node ${meta.get('node')}, wrk ${meta.get('wrk')}, ` +
    `${meta.get('cpu')}, kernel ${meta.get('kernel')}, store on ${meta.get('fs')}.`,
  '',
)
out.push(
  '| scenario | conns | req/s median (min–max) | p50 | p99 | non-2xx / socket errors | ratio to anchor | server CPU per answer | bottleneck |',
  '|---|---:|---|---:|---:|---|---:|---:|---|',
)
for (const c of conns) {
  for (const [key, label, anchorKey] of scenarios) {
    const s = summarize(key, c)
    if (!s) continue
    const anchor = anchorKey ? summarize(anchorKey, c) : undefined
    const ratio = anchor ? (s.rps / anchor.rps).toFixed(2) : '1.00'
    if (s.non2xx > 0 || s.errors > 0) failures.push(`${label} c${c}: ${s.non2xx} non-2xx`)
    out.push(
      `| ${label} | ${c} | ${int(s.rps)} (${int(s.min)}–${int(s.max)}) | ${ms(s.p50)} | ` +
        `${ms(s.p99)} | ${s.non2xx} / ${s.errors} | ${ratio} | ${int(s.cpuPerReq)} µs | ` +
        `${bottleneck(s)} |`,
    )
  }
}
out.push('')
const shared = conns.flatMap((c) =>
  scenarios.map(([key]) => summarize(key, c)).filter((s): s is Summary => s !== undefined),
)
const quiet = Number(meta.get('quiet_busy') ?? 15)
const discarded = rows.filter((r) => r.run < 0).length
if (discarded > 0) {
  out.push(
    `${discarded} run(s) during which other work took ≥ ${quiet} % of a CPU were discarded ` +
      'and measured again (their answers still count for the checks).',
    '',
  )
}
if (shared.some((s) => s.foreignServer >= quiet || s.foreignLoadgen >= quiet)) {
  out.push(
    '⚠ **Other work shared these CPUs during this run** (see "other load"): req/s and ' +
      'latencies are low and noisy; the ratios and the server CPU per answer hold better.',
    '',
  )
}

// The floor: 5,000 req/s reads with p99 under 10 ms.
const readC = Math.max(...conns)
const reads = summarize('api-get', readC)
if (reads) {
  const pass = reads.rps >= 5000 && reads.p99 < 10
  out.push(
    `**Floor** (issue: reads ≥ 5,000 req/s, p99 < 10 ms) at ${readC} connections: ` +
      `${pass ? '**met**' : '**NOT met**'} — ${int(reads.rps)} req/s, p99 ${ms(reads.p99)}` +
      `${reads.rps >= 5000 ? '' : ' (throughput below the floor)'}` +
      `${reads.p99 < 10 ? '' : ' (p99 above the floor)'}.`,
    '',
  )
}

// The durability floor under every write endpoint.
const floorFile = join(work, 'commit-floor.txt')
if (existsSync(floorFile)) {
  const runs = readFileSync(floorFile, 'utf8')
    .trim()
    .split('\n')
    .map(
      (l) => Object.fromEntries(l.split(' ').map((kv) => kv.split('='))) as Record<string, string>,
    )
  const rate = runs.map((r) => Number(r.commits_per_s))
  const floor = median(rate)
  out.push(
    `**Durable-commit floor** of this disk (better-sqlite3, WAL, synchronous=FULL, one-row ` +
      `transactions back to back on CPU ${meta.get('server_cpu')}): ${int(floor)} commits/s ` +
      `(${int(Math.min(...rate))}–${int(Math.max(...rate))}), commit p50 ` +
      `${ms(median(runs.map((r) => Number(r.p50_ms))))}, p99 ${ms(median(runs.map((r) => Number(r.p99_ms))))}.`,
  )
  const lines = conns
    .map((c) => [c, summarize('api-patch', c)] as const)
    .filter((x): x is readonly [number, Summary] => x[1] !== undefined)
    .map(([c, s]) => `${int(s.rps)} req/s at ${c} conns = ${((100 * s.rps) / floor).toFixed(0)} %`)
  if (lines.length) out.push(`localspace PATCH reaches ${lines.join(', ')} of it.`)
  out.push('')
}

// Every acknowledged PATCH must be a release on disk: 2 releases a seeded app (its first and
// the seeding config change) plus one a PATCH; requests in flight when wrk stopped may have
// been committed too, so at most one more a connection a wrk run.
if (values.db && existsSync(values.db)) {
  const db = new Database(values.db, { readonly: true, fileMustExist: true })
  const releases = Number(db.prepare('SELECT count(*) FROM releases').pluck().get())
  db.close()
  const patches = rows.filter((r) => r.scenario === 'api-patch')
  const acked = patches.reduce((n, r) => n + r.ok, 0)
  const low = 2 * Number(meta.get('apps')) + acked
  const high = low + patches.reduce((n, r) => n + r.conns, 0)
  const ok = releases >= low && releases <= high
  if (!ok) failures.push(`releases in the store ${releases}, expected ${low}–${high}`)
  out.push(
    `**Checks:** every answer 2xx: ${failures.some((f) => f.includes('non-2xx')) ? '**no**' : 'yes'}. ` +
      `Releases in the store after a clean stop: ${int(releases)}; expected ${int(low)}–${int(high)} ` +
      `(2 per seeded app + ${int(acked)} acknowledged PATCHes, + at most the requests in flight when ` +
      `wrk stopped): ${ok ? 'yes' : '**NO**'}.`,
    '',
  )
}
if (failures.length) out.push(`**FAILED:** ${failures.join('; ')}`, '')
process.stdout.write(out.join('\n'))
process.exitCode = failures.length ? 1 : 0
