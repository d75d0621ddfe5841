/**
 * How many backups a Heroku Postgres database keeps, after Heroku's PGBackups article
 * ("Scheduled Backups Retention Limits" and "Manual Backup Retention Limits", Premium, Private
 * and Shield tiers, which localspace's private plans are): scheduled backups 7 daily, 8
 * weekly and 12 monthly; manual backups 50, the oldest going when a new one lands. The
 * figures are the constants below, so a change of Heroku's is one edit.
 * Pure: given the finished backups of one database, which are past retention.
 */
export const RETENTION = { daily: 7, weekly: 8, monthly: 12, manual: 50 } as const

export interface RetainedBackup {
  id: string
  createdAt: string
  scheduled: boolean
}

/** Monday of the ISO week of `iso` (UTC), as YYYY-MM-DD: the week a backup counts for. */
function weekOf(iso: string): string {
  const d = new Date(iso)
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7))
  return d.toISOString().slice(0, 10)
}

/** The newest backup of each of the `count` most recent periods, among `newestFirst`. */
function newestPerPeriod(
  newestFirst: readonly RetainedBackup[],
  period: (iso: string) => string,
  count: number,
): Set<string> {
  const kept = new Set<string>()
  const seen = new Set<string>()
  for (const b of newestFirst) {
    const p = period(b.createdAt)
    if (seen.has(p)) continue
    if (seen.size === count) break
    seen.add(p)
    kept.add(b.id)
  }
  return kept
}

/** The ids of backups past retention (to delete), of one database's backups in any order. */
export function backupsPastRetention(backups: readonly RetainedBackup[]): string[] {
  const newestFirst = [...backups].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  const scheduled = newestFirst.filter((b) => b.scheduled)
  const keep = new Set(scheduled.slice(0, RETENTION.daily).map((b) => b.id))
  for (const id of newestPerPeriod(scheduled, weekOf, RETENTION.weekly)) keep.add(id)
  for (const id of newestPerPeriod(scheduled, (iso) => iso.slice(0, 7), RETENTION.monthly))
    keep.add(id)
  for (const b of newestFirst.filter((b) => !b.scheduled).slice(0, RETENTION.manual)) keep.add(b.id)
  return newestFirst.filter((b) => !keep.has(b.id)).map((b) => b.id)
}
