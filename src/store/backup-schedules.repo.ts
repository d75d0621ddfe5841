import type { BackupSchedule } from '../core/backups.js'
import type { Db } from './db.js'

interface ScheduleRow {
  id: string
  addon_id: string
  name: string
  hour: number
  timezone: string
  last_run_on: string | null
  created_at: string
  updated_at: string
}
const toSchedule = (r: ScheduleRow): BackupSchedule => ({
  id: r.id,
  addonId: r.addon_id,
  name: r.name,
  hour: r.hour,
  timezone: r.timezone,
  lastRunOn: r.last_run_on,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

/** Daily backup schedules (`pg:backups:schedule`), one per database. */
export class BackupSchedulesRepo {
  constructor(private readonly db: Db) {}

  /** Sets the database's schedule, replacing the one it had. */
  upsert(s: BackupSchedule): void {
    this.db
      .prepare(
        `INSERT INTO pg_backup_schedules (id, addon_id, name, hour, timezone, last_run_on,
           created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (addon_id) DO UPDATE SET name = excluded.name, hour = excluded.hour,
           timezone = excluded.timezone, updated_at = excluded.updated_at`,
      )
      .run(s.id, s.addonId, s.name, s.hour, s.timezone, s.lastRunOn, s.createdAt, s.updatedAt)
  }

  ofAddon(addonId: string): BackupSchedule | undefined {
    const r = this.db
      .prepare<[string], ScheduleRow>('SELECT * FROM pg_backup_schedules WHERE addon_id = ?')
      .get(addonId)
    return r && toSchedule(r)
  }

  all(): BackupSchedule[] {
    return this.db
      .prepare<[], ScheduleRow>('SELECT * FROM pg_backup_schedules ORDER BY created_at')
      .all()
      .map(toSchedule)
  }

  markRun(id: string, localDate: string): void {
    this.db
      .prepare('UPDATE pg_backup_schedules SET last_run_on = ? WHERE id = ?')
      .run(localDate, id)
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM pg_backup_schedules WHERE id = ?').run(id)
  }
}
