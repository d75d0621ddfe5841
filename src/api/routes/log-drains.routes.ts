/**
 * App log drains (`heroku drains`, `drains:add URL`, `drains:remove URL|TOKEN`; schema
 * `log-drain`): GET/POST /apps/{app}/log-drains, GET/DELETE /apps/{app}/log-drains/{id|url|token}.
 * Added and removed by src/platform/drains.ts; lines are delivered by the drain dispatcher
 * (src/logs/drains.ts), told by `drains.changed`.
 */
import type { FastifyInstance } from 'fastify'
import type { AppLogDrain } from '../../core/drains.js'
import { errors } from '../../core/errors.js'
import type { App } from '../../core/types.js'
import { addAppDrain, removeAppDrain } from '../../platform/drains.js'
import { findApp } from '../access.js'
import { sendList } from '../plugins/pagination.js'

export const appLogDrainJson = (d: AppLogDrain, app: App, extended = false) => ({
  id: d.id,
  url: d.url,
  token: d.token,
  addon: null,
  app: { id: app.id, name: app.name },
  created_at: d.createdAt,
  updated_at: d.updatedAt,
  // `heroku drains -x` prints `drain_id=` from it (Logplex's own id; ours is the token).
  ...(extended && { extended: { drain_id: d.token } }),
})

const isExtended = (query: unknown) =>
  (query as { extended?: unknown } | undefined)?.extended === 'true'

export function logDrainRoutes(app: FastifyInstance): void {
  const { store } = app.ctx

  app.get<{ Params: { app: string } }>('/apps/:app/log-drains', async (request, reply) => {
    const target = findApp(store, request.account, request.params.app)
    const extended = isExtended(request.query)
    const all = store.drains.forApp(target.id).map((d) => appLogDrainJson(d, target, extended))
    return sendList(request, reply, all, ['created_at', 'id'])
  })

  app.post<{ Params: { app: string }; Body: { url: string } }>(
    '/apps/:app/log-drains',
    {
      schema: {
        body: { type: 'object', required: ['url'], properties: { url: { type: 'string' } } },
      },
    },
    async (request, reply) => {
      const target = findApp(store, request.account, request.params.app)
      const drain = addAppDrain(app.ctx, target, request.body.url, app.ctx.addressPolicy)
      return reply.code(201).send(appLogDrainJson(drain, target))
    },
  )

  app.get<{ Params: { app: string; drain: string } }>(
    '/apps/:app/log-drains/:drain',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const drain = store.drains.find(target.id, request.params.drain)
      if (!drain) throw errors.notFound('log drain')
      return appLogDrainJson(drain, target, isExtended(request.query))
    },
  )

  app.delete<{ Params: { app: string; drain: string } }>(
    '/apps/:app/log-drains/:drain',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const drain = store.drains.find(target.id, request.params.drain)
      if (!drain) throw errors.notFound('log drain')
      removeAppDrain(app.ctx, target, drain)
      return appLogDrainJson(drain, target)
    },
  )
}
