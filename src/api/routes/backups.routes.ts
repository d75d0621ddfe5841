/**
 * The data API's Postgres backups (`pg:backups`, `…:capture`, `…:info`, `…:restore`,
 * `…:cancel`, `…:delete`, `…:url`): transfers per billing app, recorded by
 * src/platform/backups.ts and run by the data agent; daily schedules (`pg:backups:schedule`,
 * `…:schedules`, `…:unschedule`, platform/backup-schedules.ts); and the signed download links
 * of `pg:backups:url` (`GET /backup-files/:id`, no API key: the signature is the credential).
 */
import { createReadStream } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import type { Account } from '../../core/types.js'
import { RETENTION } from '../../core/backup-retention.js'
import { transferName, type BackupSchedule, type Transfer } from '../../core/backups.js'
import { errors } from '../../core/errors.js'
import { serviceOf } from '../../platform/addon-attachments.js'
import {
  cancelTransfer,
  captureBackup,
  deleteBackup,
  restoreBackup,
} from '../../platform/backups.js'
import { scheduleBackups, unscheduleBackups } from '../../platform/backup-schedules.js'
import type { Store } from '../../store/store.js'
import { addonNotFound, findAddon } from '../addon-access.js'
import { findApp } from '../access.js'

/** What `backup_url` a restore names: a backup of this installation, by id. */
const BACKUP_URL = 'localspace-backup:'

function transferJson(t: Transfer, verbose = false) {
  const backup = t.kind === 'backup'
  return {
    uuid: t.id,
    num: t.num,
    from_name: t.fromName,
    from_type: backup ? 'pg_dump' : 'gof3r',
    to_name: t.toName,
    to_type: backup ? 'gof3r' : 'pg_restore',
    to_url: backup ? `${BACKUP_URL}${t.id}` : null,
    options: {},
    source_bytes: t.processedBytes,
    processed_bytes: t.processedBytes,
    succeeded: t.succeeded,
    warnings: 0,
    schedule: t.scheduleName === null ? null : { name: t.scheduleName },
    created_at: t.createdAt,
    updated_at: t.finishedAt ?? t.startedAt ?? t.createdAt,
    started_at: t.startedAt,
    finished_at: t.finishedAt,
    canceled_at: t.canceledAt,
    deleted_at: t.deletedAt,
    ...(verbose && { logs: t.logs }),
  }
}

function scheduleJson(s: BackupSchedule) {
  return {
    uuid: s.id,
    name: s.name,
    hour: s.hour,
    days: ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'],
    timezone: s.timezone,
    retain_weeks: RETENTION.weekly,
    retain_months: RETENTION.monthly,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  }
}

/** The hour as the CLI sends it (`"02"` from `--at '02:00 UTC'`) or as a number. */
function parseHour(hour: string | number): number {
  if (typeof hour === 'number') return hour
  return /^\d{1,2}$/.test(hour) ? Number(hour) : -1
}

const transferNotFound = () => errors.notFound('add_on', "Couldn't find that backup.")

function findTransfer(store: Store, account: Account, appName: string, id: string): Transfer {
  const app = findApp(store, account, appName)
  const t = store.transfers.find(app.id, id)
  if (!t) throw transferNotFound()
  return t
}

export function backupRoutes(app: FastifyInstance): void {
  const { store } = app.ctx

  const database = (account: Account, id: string) => {
    const addon = findAddon(store, account, id)
    if (serviceOf(addon).kind !== 'postgres') throw addonNotFound()
    return addon
  }

  app.get<{ Params: { app: string } }>('/client/v11/apps/:app/transfers', async (request) => {
    const target = findApp(store, request.account, request.params.app)
    return store.transfers.forApp(target.id).map((t) => transferJson(t))
  })

  app.get<{ Params: { app: string; id: string }; Querystring: { verbose?: string } }>(
    '/client/v11/apps/:app/transfers/:id',
    async (request) => {
      const t = findTransfer(store, request.account, request.params.app, request.params.id)
      return transferJson(t, request.query.verbose === 'true')
    },
  )

  app.delete<{ Params: { app: string; id: string } }>(
    '/client/v11/apps/:app/transfers/:id',
    async (request) => {
      const t = findTransfer(store, request.account, request.params.app, request.params.id)
      return transferJson(deleteBackup(app.ctx, t))
    },
  )

  app.post<{ Params: { app: string; id: string } }>(
    '/client/v11/apps/:app/transfers/:id/actions/cancel',
    async (request) => {
      const t = findTransfer(store, request.account, request.params.app, request.params.id)
      return transferJson(cancelTransfer(app.ctx, t))
    },
  )

  app.post<{ Params: { app: string; id: string } }>(
    '/client/v11/apps/:app/transfers/:id/actions/public-url',
    async (request) => {
      const t = findTransfer(store, request.account, request.params.app, request.params.id)
      const files = app.ctx.backupFiles
      if (!files) {
        throw errors.notImplemented(
          'Downloading backups (pg:backups:url, pg:backups:download) is not available in localspace yet: see docs/heroku-compat.md.',
        )
      }
      const link = t.kind === 'backup' && t.succeeded ? await files.publicUrl(t.id) : undefined
      if (!link) throw errors.invalidParams(`${transferName(t)} has no file to download.`)
      return { url: link.url, expires_at: link.expiresAt }
    },
  )

  app.get<{ Params: { id: string } }>(
    '/client/v11/databases/:id/transfer-schedules',
    async (request) => {
      const addon = database(request.account, request.params.id)
      const schedule = store.backupSchedules.ofAddon(addon.id)
      return schedule ? [scheduleJson(schedule)] : []
    },
  )

  app.post<{
    Params: { id: string }
    Body: { hour: string | number; timezone?: string; schedule_name?: string }
  }>(
    '/client/v11/databases/:id/transfer-schedules',
    {
      schema: {
        body: {
          type: 'object',
          required: ['hour'],
          properties: {
            hour: { type: ['string', 'integer'], maxLength: 2 },
            timezone: { type: 'string', minLength: 1, maxLength: 64 },
            schedule_name: { type: 'string', pattern: '^[A-Z][A-Z0-9_]{0,99}$' },
          },
        },
      },
    },
    async (request, reply) => {
      const addon = database(request.account, request.params.id)
      const { body } = request
      const schedule = scheduleBackups(app.ctx, addon, {
        name: body.schedule_name ?? 'DATABASE_URL',
        hour: parseHour(body.hour),
        timezone: body.timezone ?? 'UTC',
      })
      return reply.code(201).send(scheduleJson(schedule))
    },
  )

  app.delete<{ Params: { id: string; schedule: string } }>(
    '/client/v11/databases/:id/transfer-schedules/:schedule',
    async (request) => {
      const addon = database(request.account, request.params.id)
      const schedule = store.backupSchedules.ofAddon(addon.id)
      unscheduleBackups(app.ctx, addon, request.params.schedule)
      return scheduleJson(schedule!)
    },
  )

  // The link `pg:backups:url` prints: whoever holds it may download, until it expires.
  app.get<{ Params: { id: string }; Querystring: { expires?: string; signature?: string } }>(
    '/backup-files/:id',
    { config: { public: true } },
    async (request, reply) => {
      const files = app.ctx.backupFiles
      const found = files
        ? await files.openSigned(request.params.id, request.query)
        : ('missing' as const)
      if (found === 'forbidden') {
        throw errors.forbidden(
          'This backup link is not valid or has expired: get a new one with heroku pg:backups:url.',
        )
      }
      if (found === 'missing') throw transferNotFound()
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', found.size)
        .send(createReadStream(found.path))
    },
  )

  app.post<{ Params: { id: string } }>(
    '/client/v11/databases/:id/backups',
    async (request, reply) => {
      const addon = database(request.account, request.params.id)
      return reply.code(201).send(transferJson(captureBackup(app.ctx, addon)))
    },
  )

  app.post<{ Params: { id: string }; Body: { backup_url?: string } }>(
    '/client/v11/databases/:id/restores',
    {
      schema: {
        body: {
          type: 'object',
          required: ['backup_url'],
          properties: { backup_url: { type: 'string', maxLength: 2048 } },
        },
      },
    },
    async (request, reply) => {
      const addon = database(request.account, request.params.id)
      const url = request.body.backup_url!
      if (!url.startsWith(BACKUP_URL)) {
        throw errors.invalidParams(
          'Restoring from a URL is not available in localspace: restore one of its backups by name (heroku pg:backups:restore b001 DATABASE_URL).',
        )
      }
      const backup = store.transfers.byId(url.slice(BACKUP_URL.length))
      // The caller must see the backup's app, as for `pg:backups -a APP`.
      if (!backup || backup.deletedAt !== null) throw transferNotFound()
      findApp(store, request.account, backup.appId)
      return reply.code(201).send(transferJson(restoreBackup(app.ctx, addon, backup)))
    },
  )
}
