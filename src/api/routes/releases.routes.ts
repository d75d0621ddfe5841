/**
 * Config vars and releases. The newest release holds the app's config: every config change
 * is a new release, and a rollback is a new release that copies an old one's slug and config
 * (both made by src/platform/releases.ts, as a deploy's release is).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors } from '../../core/errors.js'
import { currentConfig, rollback, setConfigVars } from '../../platform/releases.js'
import { findApp } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { releaseJson } from '../serializers.js'

/** Checks a PATCH body's shape: an object whose values are strings (set) or null (delete). */
function parseConfigPatch(body: unknown): Record<string, string | null> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw errors.invalidParams('Config vars must be a JSON object of names to strings or null.')
  }
  // Null-prototype map: names such as `constructor` or `__proto__` are plain config var names.
  const patch = Object.create(null) as Record<string, string | null>
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (value !== null && typeof value !== 'string') {
      throw errors.invalidParams(`Config var ${key} must be a string or null.`)
    }
    patch[key] = value
  }
  return patch
}

export function releaseRoutes(app: FastifyInstance): void {
  const { store } = app.ctx

  app.get<{ Params: { app: string } }>('/apps/:app/config-vars', async (request) => {
    const target = findApp(store, request.account, request.params.app)
    return currentConfig(store, target.id)
  })

  app.patch<{ Params: { app: string } }>('/apps/:app/config-vars', async (request) => {
    const target = findApp(store, request.account, request.params.app)
    const patch = parseConfigPatch(request.body)
    return setConfigVars(app.ctx, target, request.account, patch).config
  })

  app.get<{ Params: { app: string } }>('/apps/:app/releases', async (request, reply) => {
    const target = findApp(store, request.account, request.params.app)
    const releases = store.releases.list(target.id)
    const currentVersion = releases.reduce((max, r) => Math.max(max, r.version), 0)
    const list = releases.map((r) => releaseJson(r, target, currentVersion))
    return sendList(request, reply, list, ['version', 'id'])
  })

  /** The app and one of its releases (by id or version) the caller may read; 404 otherwise. */
  const findRelease = (request: FastifyRequest<{ Params: { app: string; release: string } }>) => {
    const target = findApp(store, request.account, request.params.app)
    const release = store.releases.find(target.id, request.params.release)
    if (!release) throw errors.notFound('release')
    return { target, release }
  }

  app.get<{ Params: { app: string; release: string } }>(
    '/apps/:app/releases/:release',
    async (request) => {
      const { target, release } = findRelease(request)
      return releaseJson(release, target, store.releases.current(target.id)?.version ?? 0)
    },
  )

  // The config vars a release ran with (`heroku releases:info` shows them): readable by whoever
  // may read the app's current config vars.
  app.get<{ Params: { app: string; release: string } }>(
    '/apps/:app/releases/:release/config-vars',
    async (request) => findRelease(request).release.config,
  )

  // Rollback (`releases:rollback`): POST { release: <id or version> }.
  app.post<{ Params: { app: string }; Body: { release: string | number; description?: string } }>(
    '/apps/:app/releases',
    {
      schema: {
        body: {
          type: 'object',
          required: ['release'],
          properties: {
            release: { type: ['string', 'integer'] },
            description: { type: 'string', maxLength: 500 },
          },
        },
      },
    },
    async (request, reply) => {
      const target = findApp(store, request.account, request.params.app)
      const release = rollback(app.ctx, target, request.account, {
        release: String(request.body.release),
        ...(request.body.description !== undefined && { description: request.body.description }),
      })
      return reply.code(201).send(releaseJson(release, target, release.version))
    },
  )
}
