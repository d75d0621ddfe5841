/** Formation (how many dynos of each type, what size) and the dynos the runtime reports. */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { newId, nowIso } from '../../core/ids.js'
import { PROCESS_TYPE } from '../../core/names.js'
import { DEFAULT_COMMON_SIZE, DEFAULT_SPACE_SIZE, findDynoSize } from '../../core/sizes.js'
import type { App, Formation } from '../../core/types.js'
import type { Store } from '../../store/store.js'
import { findApp } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { dynoJson, formationJson } from '../serializers.js'

export const MAX_QUANTITY = 100

interface FormationUpdate {
  type?: string
  quantity?: number | string
  size?: string
}

/** `3`, `"3"`, `"+1"` and `"-2"` are all valid; relative values apply to the current count. */
export function resolveQuantity(value: number | string, current: number): number {
  const text = String(value).trim()
  const m = /^([+-]?)(\d{1,6})$/.exec(text)
  if (!m) throw errors.invalidParams(`Invalid quantity ${JSON.stringify(value)}.`)
  const n = Number(m[2])
  const next = m[1] === '+' ? current + n : m[1] === '-' ? current - n : n
  if (next < 0) throw errors.invalidParams(`Quantity cannot be below 0 (got ${next}).`)
  if (next > MAX_QUANTITY) {
    throw errors.invalidParams(`Quantity cannot be above ${MAX_QUANTITY} (got ${next}).`)
  }
  return next
}

/** Resolves a size name against the app's placement: Private-* in spaces, the others outside. */
export function resolveSize(name: string, app: App): string {
  const size = findDynoSize(name)
  if (!size) throw errors.invalidParams(`Unknown dyno size ${JSON.stringify(name)}.`)
  if (app.spaceId && !size.privateSpaceOnly) {
    throw errors.invalidParams(`Dyno size ${size.name} is not available in this Private Space.`)
  }
  if (!app.spaceId && size.privateSpaceOnly) {
    throw errors.invalidParams(`Dyno size ${size.name} is only available in Private Spaces.`)
  }
  return size.name
}

/**
 * The process types the app's running code declares, or undefined while no release has a slug
 * (then formation may be set ahead of the code, for the first deploy to start).
 */
function declaredTypes(store: Store, app: App): Set<string> | undefined {
  const slugId = store.releases.current(app.id)?.slugId
  const slug = slugId ? store.builds.findSlug(app.id, slugId) : undefined
  return slug && new Set(Object.keys(slug.processTypes))
}

/** Applies a batch of updates atomically: all of them, or none when one is refused. */
function applyUpdates(store: Store, app: App, updates: FormationUpdate[]): Formation[] {
  return store.transaction(() => {
    const existing = new Map(store.releases.formation(app.id).map((f) => [f.type, f]))
    const declared = declaredTypes(store, app)
    const now = nowIso()
    for (const u of updates) {
      const type = u.type ?? ''
      if (!PROCESS_TYPE.test(type)) {
        throw errors.invalidParams(`Invalid process type ${JSON.stringify(u.type)}.`)
      }
      if (declared && !declared.has(type)) {
        // Heroku's answer to `ps:scale` of a type the Procfile does not have.
        throw errors.notFound('formation', `Couldn't find that process type (${type}).`)
      }
      const current = existing.get(type)
      const next: Formation = {
        id: current?.id ?? newId(),
        appId: app.id,
        type,
        command: current?.command ?? '',
        quantity:
          u.quantity === undefined
            ? (current?.quantity ?? 0)
            : resolveQuantity(u.quantity, current?.quantity ?? 0),
        size:
          u.size === undefined
            ? (current?.size ?? (app.spaceId ? DEFAULT_SPACE_SIZE : DEFAULT_COMMON_SIZE))
            : resolveSize(u.size, app),
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
      }
      store.releases.upsertFormation(next)
      existing.set(type, next)
    }
    const touched = new Set(updates.map((u) => u.type))
    return [...existing.values()].filter((f) => touched.has(f.type))
  })
}

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
      const changed = applyUpdates(store, target, request.body.updates)
      events.emit('formation.changed', target.id)
      return changed.map((f) => formationJson(f, target))
    },
  )

  app.patch<{ Params: { app: string; type: string }; Body: FormationUpdate }>(
    '/apps/:app/formation/:type',
    { schema: { body: { type: 'object', properties: updateProps } } },
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const [f] = applyUpdates(store, target, [{ ...request.body, type: request.params.type }])
      events.emit('formation.changed', target.id)
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
