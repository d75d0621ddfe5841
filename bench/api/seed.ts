/**
 * Seeds a running localspace daemon for the API benchmark through the Platform API itself:
 * one team, one space and N apps in it, each with a few config vars. Writes next to --out:
 *   apps.txt          one app name a line (the Lua scripts cycle through it)
 *   app.json          GET /apps/<first app> as the daemon answers it (the anchor serves it)
 *   config-vars.json  GET /apps/<first app>/config-vars (the anchor's PATCH answers this shape)
 *
 *   node --import tsx bench/api/seed.ts --url http://127.0.0.1:PORT --key KEY --out DIR
 *        [--apps 1000] [--concurrency 16]
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    out: { type: 'string' },
    apps: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '16' },
    team: { type: 'string', default: 'bench-team' },
    space: { type: 'string', default: 'bench-space' },
  },
})
if (!values.url || !values.key || !values.out) {
  console.error('usage: seed.ts --url URL --key KEY --out DIR [--apps N] [--concurrency N]')
  process.exit(2)
}
const base = values.url.replace(/\/$/, '')
const key = values.key
const out = values.out
const appCount = Number(values.apps)
const concurrency = Number(values.concurrency)
const team = values.team
const space = values.space

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      accept: 'application/vnd.heroku+json; version=3',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  if (res.status < 200 || res.status > 299) {
    throw new Error(`${method} ${path} answered ${res.status}: ${text}`)
  }
  return text === '' ? undefined : JSON.parse(text)
}

/** Every app the key can see, following Range's Next-Range (pages of at most 1,000). */
async function listApps(): Promise<unknown[]> {
  const all: unknown[] = []
  let range: string | null = 'name ..; max=1000'
  while (range) {
    const res: Response = await fetch(`${base}/apps`, {
      headers: {
        authorization: `Bearer ${key}`,
        accept: 'application/vnd.heroku+json; version=3',
        range,
      },
    })
    if (res.status !== 200 && res.status !== 206) throw new Error(`GET /apps: ${res.status}`)
    all.push(...((await res.json()) as unknown[]))
    range = res.status === 206 ? res.headers.get('next-range') : null
  }
  return all
}

/** Runs `work(i)` for i in [0, n) with at most `limit` in flight. */
async function pool(n: number, limit: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    for (let i = next++; i < n; i = next++) await work(i)
  }
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker))
}

const appName = (i: number) => `bench-app-${String(i + 1).padStart(4, '0')}`

const started = performance.now()
await api('POST', '/teams', { name: team })
await api('POST', '/spaces', { name: space, team, region: 'virginia' })
const names = Array.from({ length: appCount }, (_, i) => appName(i))
await pool(appCount, concurrency, async (i) => {
  const name = names[i]!
  await api('POST', '/apps', { name, space })
  await api('PATCH', `/apps/${name}/config-vars`, {
    DATABASE_URL: `postgres://u${i}:secret-${i}@db.internal:5432/app${i}`,
    REDIS_URL: `redis://cache.internal:6379/${i % 16}`,
    RAILS_ENV: 'production',
    WEB_CONCURRENCY: '2',
  })
})
const listed = await listApps()
if (listed.length < appCount) throw new Error(`GET /apps lists ${listed.length} apps`)
const first = names[0]!
const app = await api('GET', `/apps/${first}`)
const config = await api('GET', `/apps/${first}/config-vars`)
writeFileSync(join(out, 'apps.txt'), `${names.join('\n')}\n`)
writeFileSync(join(out, 'app.json'), JSON.stringify(app))
writeFileSync(join(out, 'config-vars.json'), JSON.stringify(config))
console.log(
  `seeded 1 team, 1 space, ${appCount} apps with ${Object.keys(config).length} config vars each ` +
    `in ${((performance.now() - started) / 1000).toFixed(1)} s (GET /apps lists ${listed.length}; ` +
    `an app is ${JSON.stringify(app).length} bytes of JSON)`,
)
