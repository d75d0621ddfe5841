/**
 * The Redis engine (Debian's redis-server): TLS only (`port 0`, `tls-port`), `requirepass`,
 * the AOF on with an fsync every second, maxmemory from the plan. Its readiness probe is an
 * authenticated PING over TLS from the server's own namespace.
 *
 * Redis cannot limit clients by address as Postgres's hba does: that is the firewall's job
 * (docs/design.md §4: only the space's dynos reach its data services).
 */
import { readFile } from 'node:fs/promises'
import { inNamespace, type Engine, type EngineContext } from './engine.js'
import { ownedDir, prepareCommon, writeOwned } from './files.js'
import type { ConnectionFacts, DataServerSpec } from './types.js'
import type { DataLayout } from './layout.js'

export const REDIS_PORT = 6379

/** Three quarters of the plan's memory: the rest is Redis's own overhead and an AOF rewrite's fork. */
export const maxMemoryMb = (memoryMb: number): number => Math.max(1, Math.floor((memoryMb * 3) / 4))

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

export function renderRedisConf(spec: DataServerSpec, layout: DataLayout): string {
  const settings: Array<[string, string | number]> = [
    ['bind', spec.address],
    ['port', 0],
    ['tls-port', REDIS_PORT],
    ['tls-cert-file', quote(layout.certificate)],
    ['tls-key-file', quote(layout.key)],
    // Clients authenticate with the password, not with certificates (as Heroku's).
    ['tls-auth-clients', 'no'],
    ['tls-protocols', quote('TLSv1.2 TLSv1.3')],
    ['requirepass', quote(spec.password)],
    ['protected-mode', 'no'],
    ['maxclients', spec.maxConnections],
    ['maxmemory', `${maxMemoryMb(spec.memoryMb)}mb`],
    ['maxmemory-policy', 'noeviction'],
    ['appendonly', 'yes'],
    ['appendfsync', 'everysec'],
    ['dir', quote(layout.redisDir)],
    ['daemonize', 'no'],
    ['supervised', 'no'],
    ['logfile', quote('')],
  ]
  return (
    '# written by localspace at every start; changes here are lost\n' +
    settings.map(([k, v]) => `${k} ${v}\n`).join('')
  )
}

/** Runs one Redis command as the platform, over TLS; the password goes on stdin. */
export async function redisCommand(
  ctx: Pick<EngineContext, 'spec' | 'layout' | 'exec' | 'netns'>,
  args: readonly string[],
): Promise<string> {
  const r = await inNamespace(
    ctx,
    'redis-cli',
    [
      ...['--tls', '--cacert', ctx.layout.certificate, '-h', ctx.spec.address],
      ...['-p', String(REDIS_PORT), '--askpass', '--no-auth-warning', ...args],
    ],
    { input: ctx.spec.password + '\n', timeoutMs: 10_000 },
  )
  return r.stdout
}

async function prepareRedis(ctx: EngineContext): Promise<void> {
  await prepareCommon(ctx)
  await ownedDir(ctx.layout.redisDir, ctx)
  await writeOwned(ctx.layout.redisConf, renderRedisConf(ctx.spec, ctx.layout), ctx)
}

export async function redisFacts(ctx: EngineContext): Promise<ConnectionFacts> {
  const { address: host, password } = ctx.spec
  return {
    host,
    port: REDIS_PORT,
    user: '',
    database: '',
    password,
    tls: true,
    certificate: await readFile(ctx.layout.certificate, 'utf8'),
    url: `rediss://:${encodeURIComponent(password)}@${host}:${REDIS_PORT}`,
  }
}

export const redisEngine: Engine = {
  port: REDIS_PORT,
  stopSignal: 'SIGTERM',
  prepare: prepareRedis,
  argv: (ctx) => ['redis-server', ctx.layout.redisConf],
  ready: (ctx) =>
    redisCommand(ctx, ['PING']).then(
      (out) => out.trim() === 'PONG',
      () => false,
    ),
  afterReady: async () => undefined,
  // Redis reads its file only at start; CONFIG SET would change the running server, but
  // nothing the converger changes while it runs (followers) applies to Redis.
  reload: async () => undefined,
  facts: redisFacts,
}
