/**
 * bench/data (see README.md): Postgres and Redis add-on servers (src/data) in the two-space
 * world of the data tests (test/data/space-fixture.ts):
 *
 * 1. provisioning: `DataServer.start()` until available (initdb or Redis's first start, TLS
 *    certificate, namespace on the data bridge, the app's role and database), p50/p99 over REPS;
 * 2. `pgbench` from a dyno namespace across the space's bridges (dyno bridge → host → data
 *    bridge) against `pgbench` inside the server's own namespace to its own address (the
 *    loopback-equivalent path, no bridge, no routing), TLS (verify-full) on both, same server,
 *    same tables; ratio space / own namespace;
 * 3. `redis-benchmark` (SET, GET; TLS) the same two ways;
 * 4. a follower in the second space: replay lag (bytes, and Postgres's `replay_lag`) sampled on
 *    the leader while pgbench writes to it.
 *
 * Writes Markdown to stdout.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseArgs } from 'node:util'
import { lag, leaderFacts } from '../../src/data/followers.js'
import { adminConninfo, PG_BIN, runSql } from '../../src/data/postgres.js'
import { DataServer } from '../../src/data/server.js'
import type { ConnectionFacts } from '../../src/data/types.js'
import { run } from '../../src/exec/run.js'
import { makeSpace, type SpaceFixture } from '../../test/data/space-fixture.js'
import { waitUntil } from '../../test/helpers/wait.js'

const execFileAsync = promisify(execFile)
const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    requests: { type: 'string', default: '50000' },
  },
})
const REPS = Number(args.reps)
const SECONDS = Number(args.seconds)
const RUNS = Number(args.runs)
const REQUESTS = Number(args.requests)
const CLIENTS = 8
/** Under the fixture plan's connection limit (20: Redis's maxclients). */
const REDIS_CLIENTS = 16

const REPLICATION_LAG = `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn),
  coalesce(extract(epoch FROM replay_lag), 0) FROM pg_stat_replication`

const log = (message: string) => console.error(`[bench/data] ${message}`)
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—')
/** Nearest-rank percentile. */
const pct = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN
}

/** A command in a namespace; resolves with stdout. */
async function inNs(netns: string, cmd: string, argv: string[], env: Record<string, string> = {}) {
  const { stdout } = await execFileAsync('ip', ['netns', 'exec', netns, cmd, ...argv], {
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
    timeout: (SECONDS + 120) * 1000,
  })
  return stdout
}

/** `tps = 1234.5 (without initial connection time)`. */
function tpsOf(out: string): number {
  const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(out)
  if (!m) throw new Error(`no tps in pgbench output: ${out.slice(-400)}`)
  return Number(m[1])
}

/** `"SET","81234.56",…` lines of `redis-benchmark --csv`. */
function rpsOf(out: string): { set: number; get: number } {
  const rps = (test: string) => Number(new RegExp(`^"${test}","([\\d.]+)"`, 'm').exec(out)?.[1])
  return { set: rps('SET'), get: rps('GET') }
}

async function provisioning(space: SpaceFixture, kind: 'postgres' | 'redis', reps: number) {
  const times: number[] = []
  for (let i = 0; i < reps; i++) {
    const server = new DataServer(space.spec(kind, 100 + i), { exec: run })
    const t0 = performance.now()
    try {
      await server.start()
      times.push(performance.now() - t0)
    } finally {
      await server.destroy()
    }
  }
  return times
}

async function main(): Promise<void> {
  const space = await makeSpace(0)
  const other = await makeSpace(1)
  const scratch = mkdtempSync(join(tmpdir(), 'bench-data-'))
  const made: DataServer[] = []
  try {
    log(`provisioning ${REPS} Postgres and ${REPS} Redis servers`)
    const pgStart = await provisioning(space, 'postgres', REPS)
    const redisStart = await provisioning(space, 'redis', REPS)

    const leader = new DataServer(space.spec('postgres', 12, { memoryMb: 1024 }), { exec: run })
    made.push(leader)
    await leader.start()
    const ctx = await leader.context()
    const facts = await leader.facts()
    const ca = join(scratch, 'server.crt')
    writeFileSync(ca, facts.certificate)
    const appConninfo = (f: ConnectionFacts) =>
      `host=${f.host} port=${f.port} user=${f.user} dbname=${f.database} sslmode=verify-full sslrootcert=${ca}`
    const pgbench = join(PG_BIN, 'pgbench')
    const env = { PGPASSWORD: facts.password }
    log('pgbench -i -s 5 (as the app, from the dyno namespace)')
    await inNs(space.dynoNs, pgbench, ['-i', '-q', '-s', '5', appConninfo(facts)], env)
    const bench = ['-n', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS)]
    const pgSpace: number[] = []
    const pgOwn: number[] = []
    for (let r = 0; r < RUNS; r++) {
      log(`pgbench run ${r + 1}/${RUNS}`)
      pgOwn.push(
        tpsOf(await inNs(leader.netns, pgbench, [...bench, adminConninfo(ctx, facts.database)])),
      )
      pgSpace.push(tpsOf(await inNs(space.dynoNs, pgbench, [...bench, appConninfo(facts)], env)))
    }

    const redis = new DataServer(space.spec('redis', 13), { exec: run })
    made.push(redis)
    await redis.start()
    const rf = await redis.facts()
    const rca = join(scratch, 'redis.crt')
    writeFileSync(rca, rf.certificate)
    // redis-benchmark takes the password only as -a: a throw-away server in the sandbox.
    const rb = (host: string) => [
      ...['-h', host, '-p', String(rf.port), '--tls', '--cacert', rca, '-a', rf.password],
      ...['-t', 'set,get', '-n', String(REQUESTS), '-c', String(REDIS_CLIENTS), '--csv'],
    ]
    const redisSpace: Array<{ set: number; get: number }> = []
    const redisOwn: Array<{ set: number; get: number }> = []
    for (let r = 0; r < RUNS; r++) {
      log(`redis-benchmark run ${r + 1}/${RUNS}`)
      redisOwn.push(rpsOf(await inNs(redis.netns, 'redis-benchmark', rb(rf.host))))
      redisSpace.push(rpsOf(await inNs(space.dynoNs, 'redis-benchmark', rb(rf.host))))
    }

    log('follower in the other space; lag under pgbench load')
    const spec = other.spec('postgres', 10, {
      password: ctx.spec.password,
      follow: await leaderFacts(ctx),
    })
    await leader.update({ ...ctx.spec, followers: [spec.address] })
    const follower = new DataServer(spec, { exec: run })
    made.push(follower)
    await follower.start()
    const fctx = await follower.context()
    await waitUntil('caught up', async () => (await lag(ctx, fctx)).bytes === 0, {
      timeoutMs: 120_000,
    })
    const lagBytes: number[] = []
    const lagSecs: number[] = []
    let loading = true
    const load = inNs(space.dynoNs, pgbench, [...bench, appConninfo(facts)], env).finally(() => {
      loading = false
    })
    while (loading) {
      // One snapshot on the leader (its WAL position and what the follower reports replayed,
      // and Postgres's own replay_lag): two queries on two servers would let the follower
      // catch up between them.
      const [bytes, secs] = (await runSql(ctx, REPLICATION_LAG)).trim().split('|').map(Number)
      lagBytes.push(Math.max(0, bytes ?? 0))
      lagSecs.push(secs ?? 0)
      await new Promise((r) => setTimeout(r, 100))
    }
    const loadTps = tpsOf(await load)

    const med = (xs: number[]) => pct(xs, 50)
    const ratio = (a: number[], b: number[]) => fmt(med(a) / med(b), 3)
    const row = (name: string, xs: number[]) =>
      `| ${name} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 99))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} |`
    const rs = (xs: Array<{ set: number; get: number }>, k: 'set' | 'get') => xs.map((x) => x[k])
    console.log(`## bench/data — ${new Date().toISOString()}

Load average at the end: ${(await run('cat', ['/proc/loadavg'])).stdout.trim()}.

### Provisioning: \`DataServer.start()\` until available (${REPS} each)

| server | p50 ms | p99 ms | min ms | max ms |
|---|---|---|---|---|
${row('Postgres 15 (initdb, certificate, namespace, role and database)', pgStart)}
${row('Redis (certificate, namespace, first start)', redisStart)}

### Postgres: pgbench (TPC-B-like, scale 5, ${CLIENTS} clients, ${SECONDS} s; median of ${RUNS})

| path | TPS median | runs |
|---|---|---|
| own namespace (server's address, no bridge) | ${fmt(med(pgOwn))} | ${pgOwn.map((x) => fmt(x)).join(', ')} |
| dyno namespace across the space's bridges | ${fmt(med(pgSpace))} | ${pgSpace.map((x) => fmt(x)).join(', ')} |
| **ratio space / own** | **${ratio(pgSpace, pgOwn)}×** | |

### Redis: redis-benchmark (TLS, ${REDIS_CLIENTS} clients, ${REQUESTS} requests; median of ${RUNS})

| path | SET rps | GET rps |
|---|---|---|
| own namespace | ${fmt(med(rs(redisOwn, 'set')))} | ${fmt(med(rs(redisOwn, 'get')))} |
| dyno namespace across the bridges | ${fmt(med(rs(redisSpace, 'set')))} | ${fmt(med(rs(redisSpace, 'get')))} |
| **ratio space / own** | **${ratio(rs(redisSpace, 'set'), rs(redisOwn, 'set'))}×** | **${ratio(rs(redisSpace, 'get'), rs(redisOwn, 'get'))}×** |

### Follower in another space: replay lag under pgbench load (${fmt(loadTps)} TPS, ${lagBytes.length} samples)

| | p50 | p99 | max |
|---|---|---|---|
| bytes behind | ${fmt(pct(lagBytes, 50))} | ${fmt(pct(lagBytes, 99))} | ${fmt(Math.max(...lagBytes))} |
| seconds behind | ${fmt(pct(lagSecs, 50), 3)} | ${fmt(pct(lagSecs, 99), 3)} | ${fmt(Math.max(...lagSecs), 3)} |
`)
  } finally {
    for (const s of made.reverse()) await s.destroy().catch(() => undefined)
    await space.cleanup()
    await other.cleanup()
    rmSync(scratch, { recursive: true, force: true })
  }
}

await main()
