/**
 * Formation (how many dynos of each type, what size; changed by src/platform/formation.ts) and
 * the dynos the runtime reports, with restarts and stops asked of them.
 */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import type { App } from '../../core/types.js'
import { scaleFormation, type FormationUpdate } from '../../platform/formation.js'
import { findApp } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { dynoJson, formationJson } from '../serializers.js'

const updateProps = {
  quantity: { type: ['integer', 'string'] },
  size: { type: 'string' },
} as const

export function formationRoutes(app: FastifyInstance): void {
  const { store, events, runtime } = app.ctx

  app.get<{ Params: { app: string } }>('/apps/:app/formation', async (request, reply) => {
    const target = findApp(store, request.account, request.params.app)
    const list = store.releases.formation(target.id).map((f) => formationJson(f, target))
    return sendList(request, reply, list, ['type', 'id'])
  })

  app.get<{ Params: { app: string; type: string } }>(
    '/apps/:app/formation/:type',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const f = store.releases
        .formation(target.id)
        .find((x) => x.type === request.params.type || x.id === request.params.type)
      if (!f) throw errors.notFound('formation')
      return formationJson(f, target)
    },
  )

  app.patch<{ Params: { app: string }; Body: { updates: FormationUpdate[] } }>(
    '/apps/:app/formation',
    {
      schema: {
        body: {
          type: 'object',
          required: ['updates'],
          properties: {
            updates: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                required: ['type'],
                properties: { type: { type: 'string' }, ...updateProps },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const changed = scaleFormation(app.ctx, target, request.body.updates)
      return changed.map((f) => formationJson(f, target))
    },
  )

  app.patch<{ Params: { app: string; type: string }; Body: FormationUpdate }>(
    '/apps/:app/formation/:type',
    { schema: { body: { type: 'object', properties: updateProps } } },
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const [f] = scaleFormation(app.ctx, target, [{ ...request.body, type: request.params.type }])
      return formationJson(f!, target)
    },
  )

  app.get<{ Params: { app: string } }>('/apps/:app/dynos', async (request, reply) => {
    const target = findApp(store, request.account, request.params.app)
    return sendList(
      request,
      reply,
      runtime.dynos(target.id).map((d) => dynoJson(d, target)),
    )
  })

  app.get<{ Params: { app: string; dyno: string } }>('/apps/:app/dynos/:dyno', async (request) => {
    const target = findApp(store, request.account, request.params.app)
    const d = runtime
      .dynos(target.id)
      .find((x) => x.name === request.params.dyno || x.id === request.params.dyno)
    if (!d) throw errors.notFound('dyno')
    return dynoJson(d, target)
  })

  /**
   * What a restart or stop is aimed at must exist: a dyno the runtime reports (by name or id),
   * or a process type of the formation or of a running dyno (one-offs have types of their own,
   * `run`). Otherwise a 404 says so, rather than a 202 that does nothing.
   */
  const checkTarget = (a: App, target: { type?: string; name?: string } | undefined) => {
    if (!target) return
    const dynos = runtime.dynos(a.id)
    if (target.name !== undefined) {
      if (!dynos.some((d) => d.name === target.name || d.id === target.name)) {
        throw errors.notFound(
          'dyno',
          `Couldn't find that dyno: ${a.name} has no dyno ${target.name}.`,
        )
      }
      return
    }
    const types = new Set([
      ...store.releases.formation(a.id).map((f) => f.type),
      ...dynos.map((d) => d.type),
    ])
    if (!types.has(target.type!)) {
      throw errors.notFound(
        'formation',
        `Couldn't find that formation: ${a.name} has no process type ${target.type}.`,
      )
    }
  }

  // ps:restart and ps:stop (ps:kill): accepted here, carried out by the runtime (202, as
  // Heroku answers). A stopped formation dyno is started again, as on Heroku (scale down to
  // keep it down); a stopped one-off dyno is gone.
  const action = (
    url: string,
    kind: 'restart' | 'stop',
    method: 'DELETE' | 'POST',
    target: (p: Record<string, string>) => { type?: string; name?: string } | undefined,
  ) =>
    app.route<{ Params: Record<string, string> }>({
      method,
      url,
      handler: async (request, reply) => {
        const a = findApp(store, request.account, request.params.app!)
        checkTarget(a, target(request.params))
        events.emit('dynos.action', a.id, kind, target(request.params))
        return reply.code(202).send({})
      },
    })
  action('/apps/:app/dynos', 'restart', 'DELETE', () => undefined)
  action('/apps/:app/dynos/:dyno', 'restart', 'DELETE', (p) => ({ name: p.dyno! }))
  action('/apps/:app/formations/:type', 'restart', 'DELETE', (p) => ({ type: p.type! }))
  action('/apps/:app/dynos/:dyno/actions/stop', 'stop', 'POST', (p) => ({ name: p.dyno! }))
  action('/apps/:app/formations/:type/actions/stop', 'stop', 'POST', (p) => ({ type: p.type! }))
}
