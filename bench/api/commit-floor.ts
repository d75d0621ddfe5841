/**
 * The durability floor under PATCH: how many SQLite transactions per second this disk commits
 * one after another with the store's settings (WAL, synchronous=FULL), each writing one row
 * about the size of a release. better-sqlite3 commits on the Node main thread, one commit at a
 * time, so no write endpoint of the daemon can answer faster than this.
 *
 *   node --import tsx bench/api/commit-floor.ts --dir DIR [--seconds 3] [--runs 3]
 *
 * Prints one line a run: `commit-floor run=N commits_per_s=X p50_ms=Y p99_ms=Z`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    seconds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '3' },
  },
})
if (!values.dir) {
  console.error('usage: commit-floor.ts --dir DIR [--seconds S] [--runs N]')
  process.exit(2)
}
const seconds = Number(values.seconds)
const runs = Number(values.runs)
const dir = mkdtempSync(join(values.dir, 'commit-floor-'))
const db = new Database(join(dir, 'floor.db'))
db.pragma('journal_mode = WAL')
db.pragma('synchronous = FULL')
db.exec('CREATE TABLE releases (id INTEGER PRIMARY KEY, app TEXT NOT NULL, config TEXT NOT NULL)')
const insert = db.prepare('INSERT INTO releases (app, config) VALUES (?, ?)')
const commit = db.transaction((app: string, config: string) => insert.run(app, config))
const config = JSON.stringify({
  DATABASE_URL: 'postgres://u1:secret-1@db.internal:5432/app1',
  REDIS_URL: 'redis://cache.internal:6379/1',
  RAILS_ENV: 'production',
  WEB_CONCURRENCY: '2',
  BENCH_COUNTER: '123456',
})

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN

for (let run = 0; run <= runs; run++) {
  const took: number[] = []
  const start = performance.now()
  const end = start + (run === 0 ? 1000 : seconds * 1000) // run 0 warms up
  let now = start
  for (let i = 0; now < end; i++) {
    const t = performance.now()
    commit(`app-${i % 1000}`, config)
    now = performance.now()
    took.push(now - t)
  }
  if (run === 0) continue
  took.sort((a, b) => a - b)
  const rate = took.length / ((now - start) / 1000)
  console.log(
    `commit-floor run=${run} commits_per_s=${rate.toFixed(0)} ` +
      `p50_ms=${pct(took, 50).toFixed(3)} p99_ms=${pct(took, 99).toFixed(3)}`,
  )
}
db.close()
rmSync(dir, { recursive: true, force: true })
