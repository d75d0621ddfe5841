/**
 * Daily backups (`pg:backups:schedule DATABASE_URL --at '02:00 America/New_York'`,
 * `pg:backups:schedules`, `pg:backups:unschedule`): one schedule per database. The daemon's
 * clock calls `captureDueBackups` every minute: a database whose hour has come in its
 * timezone, and that has not had its backup that local day, gets an `a00N` transfer, run like
 * any other. Each finished backup is followed by `applyRetention` (core/backup-retention.ts).
 */
import type { Addon } from '../core/addons.js'
import { backupsPastRetention } from '../core/backup-retention.js'
import type { BackupSchedule } from '../core/backups.js'
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import { serviceOf } from './addon-attachments.js'
import { captureBackup, deleteBackup } from './backups.js'
import type { PlatformContext } from './context.js'

/** The hour (0–23) and local date (YYYY-MM-DD) of `at` in `timezone`. */
export function localTime(at: Date, timezone: string): { hour: number; date: string } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
  }).formatToParts(at)
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? ''
  return { hour: Number(part('hour')), date: `${part('year')}-${part('month')}-${part('day')}` }
}

function checkTimezone(timezone: string): void {
  try {
    localTime(new Date(), timezone)
  } catch {
    throw errors.invalidParams(
      `Unknown timezone ${JSON.stringify(timezone)}: use a name such as UTC or America/New_York.`,
    )
  }
}

/** `pg:backups:schedule`: sets (or replaces) the database's daily backup. */
export function scheduleBackups(
  ctx: PlatformContext,
  addon: Addon,
  request: { name: string; hour: number; timezone: string },
): BackupSchedule {
  if (serviceOf(addon).kind !== 'postgres') {
    throw errors.invalidParams(`${addon.name} is not a Heroku Postgres database.`)
  }
  if (addon.leaderId !== null) {
    throw errors.invalidParams(
      `${addon.name} is a follower: schedule backups of its leader instead.`,
    )
  }
  if (!Number.isInteger(request.hour) || request.hour < 0 || request.hour > 23) {
    throw errors.invalidParams("Invalid schedule format: expected --at '[HOUR]:00 [TIMEZONE]'")
  }
  checkTimezone(request.timezone)
  const now = nowIso()
  ctx.store.backupSchedules.upsert({
    id: newId(),
    addonId: addon.id,
    ...request,
    lastRunOn: null,
    createdAt: now,
    updatedAt: now,
  })
  return ctx.store.backupSchedules.ofAddon(addon.id)!
}

/** `pg:backups:unschedule`. */
export function unscheduleBackups(ctx: PlatformContext, addon: Addon, scheduleId: string): void {
  const schedule = ctx.store.backupSchedules.ofAddon(addon.id)
  if (!schedule || schedule.id !== scheduleId) {
    throw errors.notFound('add_on', `No daily backups found for ${addon.name}.`)
  }
  ctx.store.backupSchedules.delete(schedule.id)
}

/**
 * Records today's backup of every database whose hour has come (in its timezone); each
 * schedule runs at most once a local day. Databases not available at the hour are skipped
 * that day, as a failed backup would be.
 */
export function captureDueBackups(ctx: PlatformContext, at: Date): number {
  let made = 0
  for (const s of ctx.store.backupSchedules.all()) {
    const local = localTime(at, s.timezone)
    if (local.hour !== s.hour || s.lastRunOn === local.date) continue
    ctx.store.backupSchedules.markRun(s.id, local.date)
    const addon = ctx.store.addons.byId(s.addonId)
    if (addon?.state !== 'provisioned') continue
    captureBackup(ctx, addon, s.name)
    made++
  }
  return made
}

/** Deletes the database's backups past Heroku's retention; the agent then purges their files. */
export function applyRetention(ctx: PlatformContext, addonId: string): number {
  const backups = ctx.store.transfers.backupsOf(addonId)
  const past = new Set(
    backupsPastRetention(
      backups.map((t) => ({
        id: t.id,
        createdAt: t.createdAt,
        scheduled: t.scheduleName !== null,
      })),
    ),
  )
  for (const t of backups) if (past.has(t.id)) deleteBackup(ctx, t)
  return past.size
}
