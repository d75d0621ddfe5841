/**
 * Postgres followers: a streaming replica of another add-on's server, made with
 * `pg_basebackup -R` through a replication slot on the leader (so the leader keeps the WAL
 * the follower still needs), over TLS with the leader's certificate verified. The leader's
 * hba admits replication only from each follower's address (`spec.followers`).
 *
 * `lag` says how far behind a follower is; `promote` makes it a leader of its own
 * (`pg_promote`), and `dropSlot` removes its slot from the old leader.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ExecError } from '../exec/run.js'
import { inNamespace, type Engine, type EngineContext } from './engine.js'
import { ownedDir, writeOwned } from './files.js'
import { ADMIN_USER, passfileLine, POSTGRES_PORT, sqlLiteral } from './postgres-config.js'
import { PG_BIN, postgresEngine, preparePostgresFiles, runSql } from './postgres.js'
import type { LeaderFacts } from './types.js'

/** The leader's replication slot for a follower, named by the follower's add-on id. */
export const slotName = (followerAddonId: string): string =>
  `localspace_${followerAddonId.replace(/-/g, '')}`

/** What a follower of this (running) Postgres server needs. */
export async function leaderFacts(leader: EngineContext): Promise<LeaderFacts> {
  return {
    addonId: leader.spec.addonId,
    address: leader.spec.address,
    port: POSTGRES_PORT,
    adminUser: ADMIN_USER,
    adminPassword: (await readFile(leader.layout.adminPassword, 'utf8')).trim(),
    certificate: await readFile(leader.layout.certificate, 'utf8'),
  }
}

/** The follower's copies of the leader's certificate and password file (the server reads them). */
const leaderFiles = (ctx: EngineContext) => ({
  certificate: join(ctx.layout.server, 'leader.crt'),
  passfile: join(ctx.layout.server, 'leader.pgpass'),
})

function leaderConninfo(ctx: EngineContext, leader: LeaderFacts): string {
  const files = leaderFiles(ctx)
  return [
    `host=${leader.address}`,
    `port=${leader.port}`,
    `user=${leader.adminUser}`,
    'sslmode=verify-full',
    `sslrootcert=${files.certificate}`,
    `passfile=${files.passfile}`,
    `application_name=${slotName(ctx.spec.addonId)}`,
    'connect_timeout=10',
  ].join(' ')
}

/**
 * The follower's data directory: a base backup of the leader, taken from the follower's own
 * namespace (the address the leader's hba admits), into a temporary directory renamed into
 * place when complete. `-R` writes standby.signal and the primary_conninfo (with the copies
 * of the leader's certificate and password file) and primary_slot_name. The slot is created
 * by the backup (`-C`); a retry after a failed attempt reuses it.
 */
async function baseBackup(ctx: EngineContext, leader: LeaderFacts): Promise<void> {
  const tmp = `${ctx.layout.pgdata}.init`
  const slot = slotName(ctx.spec.addonId)
  const run = async (create: boolean) => {
    await rm(tmp, { recursive: true, force: true })
    await ownedDir(tmp, ctx)
    await inNamespace(
      ctx,
      join(PG_BIN, 'pg_basebackup'),
      [
        ...['-D', tmp, '-R', '-X', 'stream', '-S', slot, ...(create ? ['-C'] : [])],
        ...['--checkpoint=fast', '-d', leaderConninfo(ctx, leader)],
      ],
      { timeoutMs: 30 * 60_000 },
    )
  }
  try {
    await run(true)
  } catch (e) {
    if (!(e instanceof ExecError && /already exists/.test(e.stderr))) throw e
    await run(false)
  }
  // pg_basebackup ran as root; the server runs as the data user.
  await ctx.exec('chown', ['-R', `${ctx.user.uid}:${ctx.user.gid}`, tmp])
  await rename(tmp, ctx.layout.pgdata)
}

async function prepareFollower(ctx: EngineContext): Promise<void> {
  const leader = ctx.spec.follow
  if (!leader) throw new Error(`${ctx.spec.addonId} follows no leader`)
  await ownedDir(ctx.layout.server, ctx)
  const files = leaderFiles(ctx)
  await writeOwned(files.certificate, leader.certificate, ctx)
  await writeOwned(files.passfile, passfileLine(leader.adminUser, leader.adminPassword), ctx)
  // A follower is a copy: its superuser has the leader's password.
  await mkdir(ctx.layout.secrets, { recursive: true, mode: 0o700 })
  await writeFile(ctx.layout.adminPassword, leader.adminPassword + '\n', { mode: 0o600 })
  await preparePostgresFiles(ctx, () => baseBackup(ctx, leader))
}

/** Postgres, but its data directory is a base backup of its leader. */
export const followerEngine: Engine = { ...postgresEngine, prepare: prepareFollower }

export interface Lag {
  /** WAL the leader has written that the follower has not replayed. */
  bytes: number
  /** Since the follower last replayed a transaction, while it is behind; 0 when caught up. */
  seconds: number
}

/** How far `follower` is behind `leader` (both running). */
export async function lag(leader: EngineContext, follower: EngineContext): Promise<Lag> {
  const lsn = (await runSql(leader, 'SELECT pg_current_wal_lsn()')).trim()
  const row = await runSql(
    follower,
    `SELECT pg_wal_lsn_diff(${sqlLiteral(lsn)}::pg_lsn, pg_last_wal_replay_lsn()),
            coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)`,
  )
  const [bytes, seconds] = row.trim().split('|').map(Number)
  const behind = Math.max(0, bytes ?? 0)
  return { bytes: behind, seconds: behind === 0 ? 0 : Math.max(0, seconds ?? 0) }
}

/** Ends recovery: the follower takes writes. Waits (up to a minute) until it has. */
export async function promote(follower: EngineContext): Promise<void> {
  const done = (await runSql(follower, 'SELECT pg_promote(true, 60)')).trim()
  if (done !== 't') throw new Error(`${follower.spec.addonId} was not promoted in time`)
}

/**
 * Drops a follower's slot on its leader once the follower no longer streams (a promoted or
 * destroyed follower); fine when it is gone. A slot left behind would keep WAL forever.
 */
export async function dropSlot(
  leader: EngineContext,
  followerAddonId: string,
  timeoutMs = 10_000,
): Promise<void> {
  const slot = sqlLiteral(slotName(followerAddonId))
  const deadline = Date.now() + timeoutMs
  // A sender just terminated leaves its slot active for a moment: try again until it is gone.
  for (;;) {
    const left = await runSql(
      leader,
      `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
         WHERE slot_name = ${slot} AND active_pid IS NOT NULL;
       SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
         WHERE slot_name = ${slot} AND NOT active;
       SELECT count(*) FROM pg_replication_slots WHERE slot_name = ${slot};`,
    )
    if (left.trim().split('\n').at(-1) === '0') return
    if (Date.now() > deadline) throw new Error(`the slot ${slotName(followerAddonId)} stays active`)
    await sleep(50)
  }
}

/** The slots on a leader (tests and pg:info's followers). */
export async function slots(leader: EngineContext): Promise<string[]> {
  const out = await runSql(leader, 'SELECT slot_name FROM pg_replication_slots ORDER BY 1')
  return out.split('\n').filter((l) => l !== '')
}
