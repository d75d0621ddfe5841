/**
 * The Postgres engine (Debian's postgresql-15): an `initdb` as the data user with a SCRAM
 * superuser, the configuration of postgres-config.ts, the add-on's role and database, and a
 * readiness probe that is a real TLS + SCRAM login from the server's own namespace.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generatePassword } from '../core/passwords.js'
import { inNamespace, type Engine, type EngineContext } from './engine.js'
import type { DataLayout } from './layout.js'
import {
  ADMIN_USER,
  appRole,
  passfileLine,
  POSTGRES_PORT,
  renderPgHba,
  renderPostgresConf,
  sqlIdentifier,
  sqlLiteral,
} from './postgres-config.js'
import { exists, ownedDir, prepareCommon, writeOwned } from './files.js'
import type { ConnectionFacts } from './types.js'

export const PG_BIN = '/usr/lib/postgresql/15/bin'

/**
 * The libpq connection string of the platform's own clients, run as root inside the server's
 * namespace: the superuser, its password from the root-only password file, the server's
 * certificate verified (`verify-full`).
 */
export function adminConninfo(
  ctx: Pick<EngineContext, 'spec' | 'layout'>,
  database = 'postgres',
): string {
  return [
    `host=${ctx.spec.address}`,
    `port=${POSTGRES_PORT}`,
    `user=${ADMIN_USER}`,
    `dbname=${database}`,
    'sslmode=verify-full',
    `sslrootcert=${ctx.layout.certificate}`,
    `passfile=${ctx.layout.passfile}`,
    'connect_timeout=5',
  ].join(' ')
}

/** Runs SQL (a script, on stdin) as the superuser; rows as `|`-separated lines. */
export async function runSql(
  ctx: Pick<EngineContext, 'spec' | 'layout' | 'exec' | 'netns'>,
  sql: string,
  database = 'postgres',
): Promise<string> {
  const r = await inNamespace(
    ctx,
    join(PG_BIN, 'psql'),
    [
      '-X',
      '-A',
      '-t',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      adminConninfo(ctx, database),
      '-f',
      '-',
    ],
    { input: sql },
  )
  return r.stdout
}

/** The superuser's password, made once per server and kept root-only. */
async function adminPassword(layout: DataLayout): Promise<string> {
  const text = await readFile(layout.adminPassword, 'utf8').catch(() => undefined)
  if (text !== undefined) return text.trim()
  const password = generatePassword()
  await writeFile(layout.adminPassword, password + '\n', { mode: 0o600 })
  return password
}

/**
 * `initdb` into a temporary directory renamed into place when complete: a daemon killed
 * half-way leaves no half-made cluster that a later start would take for a real one.
 */
async function initCluster(ctx: EngineContext, password: string): Promise<void> {
  const { layout, user } = ctx
  const tmp = `${layout.pgdata}.init`
  await rm(tmp, { recursive: true, force: true })
  await ownedDir(tmp, ctx)
  // initdb reads the superuser's password from a file the data user can read.
  const pwfile = join(layout.server, 'initdb-password')
  await writeOwned(pwfile, password + '\n', ctx)
  try {
    await ctx.exec(
      'setpriv',
      [
        ...[`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'],
        ...[join(PG_BIN, 'initdb'), '-D', tmp, '-U', ADMIN_USER, `--pwfile=${pwfile}`],
        ...['--auth=scram-sha-256', '--encoding=UTF8', '--locale=C.UTF-8'],
      ],
      { timeoutMs: 120_000 },
    )
  } finally {
    await rm(pwfile, { force: true })
  }
  await rename(tmp, layout.pgdata)
}

/** Rewrites postgresql.conf and pg_hba.conf from the spec. */
async function writeConfig(ctx: EngineContext): Promise<void> {
  await writeOwned(
    join(ctx.layout.pgdata, 'postgresql.conf'),
    renderPostgresConf(ctx.spec, ctx.layout),
    ctx,
  )
  await writeOwned(join(ctx.layout.pgdata, 'pg_hba.conf'), renderPgHba(ctx.spec), ctx)
}

/** Makes the data directory (once) and the configuration (every time). */
export async function preparePostgresFiles(
  ctx: EngineContext,
  makeData: (password: string) => Promise<void>,
): Promise<void> {
  await prepareCommon(ctx)
  const password = await adminPassword(ctx.layout)
  await writeFile(ctx.layout.passfile, passfileLine(ADMIN_USER, password), { mode: 0o600 })
  if (!(await exists(join(ctx.layout.pgdata, 'PG_VERSION')))) await makeData(password)
  await writeConfig(ctx)
}

/** The add-on's role (with the spec's password) and its database; idempotent. */
async function ensureAppRole(ctx: EngineContext): Promise<void> {
  const { user, database } = appRole(ctx.spec)
  const role = sqlIdentifier(user)
  const password = sqlLiteral(ctx.spec.password)
  await runSql(
    ctx,
    `SELECT format('CREATE ROLE %I LOGIN', ${sqlLiteral(user)})
       WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${sqlLiteral(user)}) \\gexec
     ALTER ROLE ${role} WITH LOGIN PASSWORD ${password};
     SELECT format('CREATE DATABASE %I OWNER %I', ${sqlLiteral(database)}, ${sqlLiteral(user)})
       WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = ${sqlLiteral(database)}) \\gexec
     REVOKE ALL ON DATABASE ${sqlIdentifier(database)} FROM PUBLIC;
     GRANT ALL ON DATABASE ${sqlIdentifier(database)} TO ${role};
`,
  )
}

export async function isInRecovery(ctx: EngineContext): Promise<boolean> {
  return (await runSql(ctx, 'SELECT pg_is_in_recovery()')).trim() === 't'
}

export async function postgresFacts(ctx: EngineContext): Promise<ConnectionFacts> {
  const { user, database } = appRole(ctx.spec)
  const host = ctx.spec.address
  const password = ctx.spec.password
  const enc = encodeURIComponent
  return {
    host,
    port: POSTGRES_PORT,
    user,
    database,
    password,
    tls: true,
    certificate: await readFile(ctx.layout.certificate, 'utf8'),
    url: `postgres://${enc(user)}:${enc(password)}@${host}:${POSTGRES_PORT}/${enc(database)}?sslmode=require`,
  }
}

export const postgresEngine: Engine = {
  port: POSTGRES_PORT,
  stopSignal: 'SIGINT',
  prepare: (ctx) => preparePostgresFiles(ctx, (password) => initCluster(ctx, password)),
  argv: (ctx) => [join(PG_BIN, 'postgres'), '-D', ctx.layout.pgdata],
  ready: (ctx) =>
    runSql(ctx, 'SELECT 1').then(
      (out) => out.trim() === '1',
      () => false,
    ),
  // A follower is read-only: its role and database come from its leader.
  afterReady: async (ctx) => {
    if (ctx.spec.follow === undefined && !(await isInRecovery(ctx))) await ensureAppRole(ctx)
  },
  reload: async (ctx, pid) => {
    await writeConfig(ctx)
    process.kill(pid, 'SIGHUP')
  },
  facts: postgresFacts,
}
