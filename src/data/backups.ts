/**
 * Backups of a Postgres add-on, run by the host where they reach the server: inside the
 * server's namespace, over TLS, as the platform's superuser. `captureBackup` writes
 * `pg_dump -Fc` of the add-on's database to a file; `restoreBackup` loads such a file with
 * `pg_restore --clean --if-exists`, its objects owned by the add-on's role (as Heroku's
 * restore: `--no-owner --no-acl`). Where the file goes afterwards (the blob store) is the
 * caller's business.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { EngineContext } from './engine.js'
import { inNamespace } from './engine.js'
import { appRole } from './postgres-config.js'
import { adminConninfo, PG_BIN } from './postgres.js'

/** A backup may take long; an hour bounds a stuck one. */
const BACKUP_TIMEOUT_MS = 60 * 60_000

/** Dumps the add-on's database to `file` (custom format); resolves with its size in bytes. */
export async function captureBackup(ctx: EngineContext, file: string): Promise<number> {
  const { database } = appRole(ctx.spec)
  await inNamespace(
    ctx,
    join(PG_BIN, 'pg_dump'),
    ['-Fc', '--no-password', '-f', file, '-d', adminConninfo(ctx, database)],
    { timeoutMs: BACKUP_TIMEOUT_MS },
  )
  return (await stat(file)).size
}

/**
 * Replaces what the backup holds in the add-on's database with the backup's contents
 * (`--clean --if-exists`: objects the backup does not have stay). Runs as the add-on's role,
 * so the app owns what is restored.
 */
export async function restoreBackup(ctx: EngineContext, file: string): Promise<void> {
  const { user, database } = appRole(ctx.spec)
  await inNamespace(
    ctx,
    join(PG_BIN, 'pg_restore'),
    [
      ...['--clean', '--if-exists', '--no-owner', '--no-acl', `--role=${user}`],
      ...['--exit-on-error', '--no-password', '-d', adminConninfo(ctx, database), file],
    ],
    { timeoutMs: BACKUP_TIMEOUT_MS },
  )
}
