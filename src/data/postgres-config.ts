/**
 * Postgres's configuration for one add-on, as text (pure): postgresql.conf and pg_hba.conf.
 * Both are rewritten at every start, so a plan change or a new follower takes effect.
 */
import { createHash } from 'node:crypto'
import type { DataLayout } from './layout.js'
import type { DataServerSpec } from './types.js'

export const POSTGRES_PORT = 5432
/** The platform's superuser: readiness, backups, replication. Reachable from its own namespace only. */
export const ADMIN_USER = 'postgres'

/** The add-on's role and database, named from its id as Heroku's look (`u…`, `d…`). */
export function appNames(addonId: string): { user: string; database: string } {
  const h = createHash('sha256').update(addonId).digest('hex')
  return { user: `u${h.slice(0, 14)}`, database: `d${h.slice(14, 27)}` }
}

/** The role and database of a server's DATABASE_URL: the spec's, or named from the add-on. */
export function appRole(spec: DataServerSpec): { user: string; database: string } {
  if (spec.user !== undefined && spec.database !== undefined)
    return { user: spec.user, database: spec.database }
  return appNames(spec.follow?.addonId ?? spec.addonId)
}

/** A quarter of the plan's memory, Postgres's usual advice for shared_buffers. */
export const sharedBuffersMb = (memoryMb: number): number => Math.max(16, Math.floor(memoryMb / 4))

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`

export function renderPostgresConf(spec: DataServerSpec, layout: DataLayout): string {
  const settings: Record<string, string | number> = {
    listen_addresses: quote(spec.address),
    port: POSTGRES_PORT,
    // No Unix socket: every client, the platform's own too, comes over TLS.
    unix_socket_directories: quote(''),
    max_connections: spec.maxConnections,
    shared_buffers: `${sharedBuffersMb(spec.memoryMb)}MB`,
    password_encryption: 'scram-sha-256',
    ssl: 'on',
    ssl_cert_file: quote(layout.certificate),
    ssl_key_file: quote(layout.key),
    ssl_min_protocol_version: quote('TLSv1.2'),
    // Durability as Heroku keeps it: a commit is on disk before it is acknowledged.
    fsync: 'on',
    synchronous_commit: 'on',
    full_page_writes: 'on',
    // Followers (streaming replication with slots).
    wal_level: 'replica',
    max_wal_senders: 10,
    max_replication_slots: 10,
    hot_standby: 'on',
    // Logs go to stderr, which the detached wrapper writes to <dataDir>/stderr.log.
    logging_collector: 'off',
    log_destination: quote('stderr'),
    log_line_prefix: quote('%m [%p] %q%u@%d '),
    dynamic_shared_memory_type: 'posix',
    timezone: quote('UTC'),
    lc_messages: quote('C.UTF-8'),
    datestyle: quote('iso, mdy'),
  }
  return (
    '# written by localspace at every start; changes here are lost\n' +
    Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}\n`)
      .join('')
  )
}

/**
 * Who may log in, first match wins: the platform's superuser only from the server's own
 * address (its namespace), the space's dynos with TLS and a SCRAM password, each follower
 * only for replication and only from its address. Nothing without TLS, nothing else.
 */
export function renderPgHba(spec: DataServerSpec): string {
  const lines = [
    '# written by localspace at every start; changes here are lost',
    `hostssl all ${ADMIN_USER} ${spec.address}/32 scram-sha-256`,
    ...(spec.followers ?? []).map((f) => `hostssl replication ${ADMIN_USER} ${f}/32 scram-sha-256`),
    `hostssl all ${ADMIN_USER} 0.0.0.0/0 reject`,
    `hostssl all all ${spec.dynoCidr} scram-sha-256`,
  ]
  return lines.join('\n') + '\n'
}

/** A libpq password file line (`host:port:db:user:password`, `:` and `\` escaped). */
export function passfileLine(user: string, password: string): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:')
  return `*:*:*:${esc(user)}:${esc(password)}\n`
}

/** SQL literal and identifier quoting for the few statements the platform runs. */
export const sqlLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`
export const sqlIdentifier = (s: string): string => `"${s.replace(/"/g, '""')}"`
