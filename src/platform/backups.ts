/**
 * Postgres backups and restores (`pg:backups:capture`, `pg:backups:restore`, `…:cancel`,
 * `…:delete`): each is a transfer numbered per billing app, recorded here and then run by the
 * data agent (`pg_dump -Fc` into the blob store, `pg_restore` from it), which reports through
 * the `markTransfer…` functions below. `transfers.changed` tells it after each commit.
 */
import { transferName, type Transfer } from '../core/backups.js'
import type { Addon } from '../core/addons.js'
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import type { Store } from '../store/store.js'
import { serviceOf } from './addon-attachments.js'
import type { PlatformContext } from './context.js'

/** The name the database has on its own app (`DATABASE`), as Heroku's transfers show it. */
function databaseName(store: Store, addon: Addon): string {
  const own = store.addons.attachmentsOfAddon(addon.id).find((t) => t.appId === addon.appId)
  return own?.name ?? addon.name
}

function checkDatabase(addon: Addon): void {
  if (serviceOf(addon).kind !== 'postgres') {
    throw errors.invalidParams(`${addon.name} is not a Heroku Postgres database.`)
  }
  if (addon.state !== 'provisioned') {
    throw errors.invalidParams(
      `${addon.name} is not available yet: wait for it (heroku pg:wait) and try again.`,
    )
  }
}

type TransferFields = Pick<Transfer, 'kind' | 'fromName' | 'toName' | 'backupId'> &
  Partial<Pick<Transfer, 'scheduleName'>>

/** Inserts a pending transfer (inside the caller's transaction). */
function insertTransfer(store: Store, addon: Addon, fields: TransferFields, message: string) {
  const now = nowIso()
  const t: Transfer = {
    id: newId(),
    appId: addon.appId,
    num: store.transfers.nextNum(addon.appId),
    addonId: addon.id,
    processedBytes: 0,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    succeeded: false,
    canceledAt: null,
    deletedAt: null,
    logs: [{ created_at: now, message }],
    scheduleName: null,
    ...fields,
  }
  store.transfers.insert(t)
  return t
}

function record(ctx: PlatformContext, addon: Addon, fields: TransferFields): Transfer {
  const { store } = ctx
  const transfer = store.transaction(() =>
    insertTransfer(store, addon, fields, `${fields.kind} requested`),
  )
  ctx.events.emit('transfers.changed', addon.id)
  return transfer
}

/**
 * `pg:backups:capture`: a `b00N` of the database, pending until the agent runs it; with a
 * schedule's name, the daily `a00N` of `pg:backups:schedule`.
 */
export function captureBackup(
  ctx: PlatformContext,
  addon: Addon,
  scheduleName: string | null = null,
): Transfer {
  checkDatabase(addon)
  return record(ctx, addon, {
    kind: 'backup',
    fromName: databaseName(ctx.store, addon),
    toName: 'BACKUP',
    backupId: null,
    scheduleName,
  })
}

/**
 * `addons:destroy` of a Postgres database: its data goes only after a final backup, which
 * stays on the app's `pg:backups` list (called inside the destroy's transaction, before the
 * attachments go, so the backup is named after the database as the app knew it).
 */
export function recordFinalBackup(store: Store, addon: Addon): Transfer | undefined {
  if (serviceOf(addon).kind !== 'postgres' || addon.state !== 'provisioned') return undefined
  return insertTransfer(
    store,
    addon,
    { kind: 'backup', fromName: databaseName(store, addon), toName: 'BACKUP', backupId: null },
    'final backup before the database is destroyed',
  )
}

/** True while a destroyed database's final backup (or any backup of it) has yet to finish. */
export const backupPending = (store: Store, addonId: string): boolean =>
  store.transfers.open().some((t) => t.addonId === addonId && t.finishedAt === null)

/** `pg:backups:restore b001 DATABASE`: replaces the database's data with a finished backup's. */
export function restoreBackup(ctx: PlatformContext, addon: Addon, backup: Transfer): Transfer {
  checkDatabase(addon)
  if (addon.leaderId !== null) {
    throw errors.invalidParams(`${addon.name} is a read-only follower: unfollow it first.`)
  }
  if (backup.kind !== 'backup' || !backup.succeeded) {
    throw errors.invalidParams(`Backup ${transferName(backup)} did not complete successfully.`)
  }
  return record(ctx, addon, {
    kind: 'restore',
    fromName: transferName(backup),
    toName: databaseName(ctx.store, addon),
    backupId: backup.id,
  })
}

/** `pg:backups:cancel`: the agent stops the work; the transfer is finished, not succeeded. */
export function cancelTransfer(ctx: PlatformContext, t: Transfer): Transfer {
  if (t.finishedAt !== null) {
    throw errors.invalidParams(`${transferName(t)} has already finished.`)
  }
  const now = nowIso()
  const canceled = {
    ...t,
    canceledAt: now,
    finishedAt: now,
    succeeded: false,
    logs: [...t.logs, { created_at: now, message: 'canceled' }],
  }
  ctx.store.transfers.update(canceled)
  ctx.events.emit('transfers.changed', t.addonId)
  return canceled
}

/** `pg:backups:delete`: hidden at once; the agent removes the file, then `markBackupPurged`. */
export function deleteBackup(ctx: PlatformContext, t: Transfer): Transfer {
  if (t.finishedAt === null) {
    throw errors.invalidParams(`${transferName(t)} is still running: cancel it first.`)
  }
  const deleted = { ...t, deletedAt: nowIso() }
  ctx.store.transfers.update(deleted)
  ctx.events.emit('transfers.changed', t.addonId)
  return deleted
}

// --- The data agent's seam -------------------------------------------------------------------

/** Transfers to run (unfinished) and deleted backups whose file is to go. */
export const openTransfers = (store: Store): Transfer[] => store.transfers.open()

function change(
  ctx: PlatformContext,
  id: string,
  fn: (t: Transfer, now: string) => Transfer,
): boolean {
  return ctx.store.transaction(() => {
    const t = ctx.store.transfers.byId(id)
    if (!t || t.finishedAt !== null) return false // canceled (or gone) meanwhile: stop the work
    ctx.store.transfers.update(fn(t, nowIso()))
    return true
  })
}

/** The agent began; false: the transfer was canceled meanwhile and is not to run. */
export const markTransferStarted = (ctx: PlatformContext, id: string): boolean =>
  change(ctx, id, (t, now) => ({
    ...t,
    startedAt: now,
    logs: [...t.logs, { created_at: now, message: 'started' }],
  }))

export const markTransferProgress = (ctx: PlatformContext, id: string, processedBytes: number) =>
  change(ctx, id, (t) => ({ ...t, processedBytes }))

/**
 * Done: succeeded or not, with what the agent has to say (the last log lines the CLI shows).
 * A destroyed database's final backup done: the data agent hears it may remove the server.
 */
export function markTransferFinished(
  ctx: PlatformContext,
  id: string,
  result: { succeeded: boolean; processedBytes: number; message: string },
): boolean {
  const done = change(ctx, id, (t, now) => ({
    ...t,
    finishedAt: now,
    succeeded: result.succeeded,
    processedBytes: result.processedBytes,
    logs: [...t.logs, { created_at: now, message: result.message }],
  }))
  const t = ctx.store.transfers.byId(id)
  const addon = t && ctx.store.addons.byId(t.addonId)
  if (done && addon?.state === 'deprovisioning' && !backupPending(ctx.store, addon.id)) {
    ctx.events.emit('addons.changed', addon.spaceId)
  }
  return done
}

/** A deleted backup's file is gone: the record goes too. */
export function markBackupPurged(ctx: PlatformContext, id: string): boolean {
  const t = ctx.store.transfers.byId(id)
  if (!t || t.deletedAt === null) return false
  ctx.store.transfers.delete(id)
  return true
}
