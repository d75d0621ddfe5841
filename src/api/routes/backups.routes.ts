/**
 * The data API's Postgres backups (`pg:backups`, `…:capture`, `…:info`, `…:restore`,
 * `…:cancel`, `…:delete`, `…:url`): transfers per billing app, recorded by
 * src/platform/backups.ts and run by the data agent. Schedules (`pg:backups:schedule`) are not
 * built and stay 501 with the rest of `/client/v11` (not-built.routes.ts).
 */
import type { FastifyInstance } from 'fastify'
import type { Account } from '../../core/types.js'
import { transferName, type Transfer } from '../../core/backups.js'
import { errors } from '../../core/errors.js'
import { serviceOf } from '../../platform/addon-attachments.js'
import {
  cancelTransfer,
  captureBackup,
  deleteBackup,
  restoreBackup,
} from '../../platform/backups.js'
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
    schedule: null,
    created_at: t.createdAt,
    updated_at: t.finishedAt ?? t.startedAt ?? t.createdAt,
    started_at: t.startedAt,
    finished_at: t.finishedAt,
    canceled_at: t.canceledAt,
    deleted_at: t.deletedAt,
    ...(verbose && { logs: t.logs }),
  }
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
