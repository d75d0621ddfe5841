import type { Transfer } from '../core/backups.js'
import type { Db } from './db.js'

interface TransferRow {
  id: string
  app_id: string
  num: number
  kind: Transfer['kind']
  addon_id: string
  from_name: string
  to_name: string
  backup_id: string | null
  processed_bytes: number
  created_at: string
  started_at: string | null
  finished_at: string | null
  succeeded: number
  canceled_at: string | null
  deleted_at: string | null
  logs: string
  schedule_name: string | null
}
const toTransfer = (r: TransferRow): Transfer => ({
  id: r.id,
  appId: r.app_id,
  num: r.num,
  kind: r.kind,
  addonId: r.addon_id,
  fromName: r.from_name,
  toName: r.to_name,
  backupId: r.backup_id,
  processedBytes: r.processed_bytes,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  succeeded: r.succeeded === 1,
  canceledAt: r.canceled_at,
  deletedAt: r.deleted_at,
  logs: JSON.parse(r.logs) as Transfer['logs'],
  scheduleName: r.schedule_name,
})

/** Postgres backups and restores (`pg:backups`). */
export class TransfersRepo {
  constructor(private readonly db: Db) {}

  /** The app's next transfer number (b001, r002, …). */
  nextNum(appId: string): number {
    const max = this.db
      .prepare<[string], number | null>('SELECT max(num) FROM pg_transfers WHERE app_id = ?')
      .pluck()
      .get(appId)
    return (max ?? 0) + 1
  }

  insert(t: Transfer): void {
    this.db
      .prepare(
        `INSERT INTO pg_transfers (id, app_id, num, kind, addon_id, from_name, to_name, backup_id,
           created_at, logs, schedule_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        t.id,
        t.appId,
        t.num,
        t.kind,
        t.addonId,
        t.fromName,
        t.toName,
        t.backupId,
        t.createdAt,
        JSON.stringify(t.logs),
        t.scheduleName,
      )
  }

  byId(id: string): Transfer | undefined {
    const r = this.db
      .prepare<[string], TransferRow>('SELECT * FROM pg_transfers WHERE id = ?')
      .get(id)
    return r && toTransfer(r)
  }

  /** Not deleted, by number or id, of an app. */
  find(appId: string, numOrId: string): Transfer | undefined {
    const r = this.db
      .prepare<[string, string, string], TransferRow>(
        `SELECT * FROM pg_transfers WHERE app_id = ? AND deleted_at IS NULL
           AND (id = ? OR CAST(num AS TEXT) = ?)`,
      )
      .get(appId, numOrId, numOrId)
    return r && toTransfer(r)
  }

  forApp(appId: string): Transfer[] {
    return this.db
      .prepare<[string], TransferRow>(
        'SELECT * FROM pg_transfers WHERE app_id = ? AND deleted_at IS NULL ORDER BY num',
      )
      .all(appId)
      .map(toTransfer)
  }

  /** Every transfer the agent has work for: unfinished ones, and deleted backups to purge. */
  open(): Transfer[] {
    return this.db
      .prepare<[], TransferRow>(
        'SELECT * FROM pg_transfers WHERE finished_at IS NULL OR deleted_at IS NOT NULL ORDER BY created_at, num',
      )
      .all()
      .map(toTransfer)
  }

  update(t: Transfer): void {
    this.db
      .prepare(
        `UPDATE pg_transfers SET processed_bytes = ?, started_at = ?, finished_at = ?, succeeded = ?,
           canceled_at = ?, deleted_at = ?, logs = ? WHERE id = ?`,
      )
      .run(
        t.processedBytes,
        t.startedAt,
        t.finishedAt,
        t.succeeded ? 1 : 0,
        t.canceledAt,
        t.deletedAt,
        JSON.stringify(t.logs),
        t.id,
      )
  }

  /** Finished, succeeded, not deleted backups of a database, oldest first (retention). */
  backupsOf(addonId: string): Transfer[] {
    return this.db
      .prepare<[string], TransferRow>(
        `SELECT * FROM pg_transfers WHERE addon_id = ? AND kind = 'backup' AND succeeded = 1
           AND deleted_at IS NULL ORDER BY created_at, num`,
      )
      .all(addonId)
      .map(toTransfer)
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM pg_transfers WHERE id = ?').run(id)
  }
}
