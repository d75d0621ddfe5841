/**
 * Config vars and releases. The newest release holds the app's config: every config change
 * is a new release, and a rollback is a new release that copies an old one's slug and config.
 */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { newId, nowIso } from '../../core/ids.js'
import { logRelease } from '../../core/log-view.js'
import { CONFIG_KEY, isConfigValue } from '../../core/names.js'
import type { App, ConfigVars, Release } from '../../core/types.js'
import type { Store } from '../../store/store.js'
import { findApp } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { releaseJson } from '../serializers.js'

const MAX_CONFIG_BYTES = 32 * 1024

/** Appends a release after the current one; call inside a transaction. */
export function appendRelease(
  store: Store,
  app: App,
  userId: string,
  fields: { description: string; config: ConfigVars; slugId: string | null },
): Release {
  const current = store.releases.current(app.id)
  const now = nowIso()
  const release = {
    id: newId(),
    appId: app.id,
    version: (current?.version ?? 0) + 1,
    status: 'succeeded' as const,
    userId,
    createdAt: now,
    updatedAt: now,
    ...fields,
  }
  store.releases.insert(release)
  store.apps.setReleasedAt(app.id, now)
  return store.releases.find(app.id, release.id)!
}

function describeConfigChange(set: string[], removed: string[]): string {
  const list = (keys: string[]) => keys.join(', ')
  if (set.length && removed.length)
    return `Set ${list(set)} and remove ${list(removed)} config vars`
  if (set.length) return `Set ${list(set)} config vars`
  return `Remove ${list(removed)} config vars`
}

/** Checks a PATCH body: an object whose values are strings (set) or null (delete). */
function parseConfigPatch(body: unknown): Record<string, string | null> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw errors.invalidParams('Config vars must be a JSON object of names to strings or null.')
  }
  // Null-prototype maps: names such as `constructor` or `__proto__` are plain config var names.
  const patch = Object.create(null) as Record<string, string | null>
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (!CONFIG_KEY.test(key)) {
      throw errors.invalidParams(
        `Invalid config var name ${JSON.stringify(key)}: use letters, digits and underscores, not starting with a digit.`,
      )
    }
    if (value !== null && typeof value !== 'string') {
      throw errors.invalidParams(`Config var ${key} must be a string or null.`)
    }
    if (value !== null && !isConfigValue(value)) {
      throw errors.invalidParams(`Config var ${key} may not contain a NUL character.`)
    }
    patch[key] = value
  }
  return patch
}

export function releaseRoutes(app: FastifyInstance): void {
  const { store, events } = app.ctx
  const currentConfig = (appId: string) => store.releases.current(appId)?.config ?? {}

  app.get<{ Params: { app: string } }>('/apps/:app/config-vars', async (request) => {
    const target = findApp(store, request.account, request.params.app)
    return currentConfig(target.id)
  })

  app.patch<{ Params: { app: string } }>('/apps/:app/config-vars', async (request) => {
    const target = findApp(store, request.account, request.params.app)
    const patch = parseConfigPatch(request.body)
    let created: Release | undefined
    const changed = store.transaction(() => {
      const config = Object.assign(Object.create(null) as ConfigVars, currentConfig(target.id))
      const set: string[] = []
      const removed: string[] = []
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) {
          if (key in config) removed.push(key)
          delete config[key]
        } else if (config[key] !== value) {
          set.push(key)
          config[key] = value
        }
      }
      if (set.length === 0 && removed.length === 0) return config
      if (Buffer.byteLength(JSON.stringify(config)) > MAX_CONFIG_BYTES) {
        throw errors.invalidParams(`Config vars may total at most ${MAX_CONFIG_BYTES / 1024} kB.`)
      }
      const slugId = store.releases.current(target.id)?.slugId ?? null
      const description = describeConfigChange(set, removed)
      created = appendRelease(store, target, request.account.id, { description, config, slugId })
      return config
    })
    events.emit('app.changed', target.id)
    // Logged after the commit: a rolled-back transaction must leave no log line behind.
    if (created) logRelease(app.ctx.logs, target.id, created, request.account.email)
    return changed
  })

  app.get<{ Params: { app: string } }>('/apps/:app/releases', async (request, reply) => {
    const target = findApp(store, request.account, request.params.app)
    const releases = store.releases.list(target.id)
    const currentVersion = releases.reduce((max, r) => Math.max(max, r.version), 0)
    const list = releases.map((r) => releaseJson(r, target, currentVersion))
    return sendList(request, reply, list, ['version', 'id'])
  })

  app.get<{ Params: { app: string; release: string } }>(
    '/apps/:app/releases/:release',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const release = store.releases.find(target.id, request.params.release)
      if (!release) throw errors.notFound('release')
      return releaseJson(release, target, store.releases.current(target.id)?.version ?? 0)
    },
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
      const release = store.transaction(() => {
        const old = store.releases.find(target.id, String(request.body.release))
        if (!old) throw errors.notFound('release')
        return appendRelease(store, target, request.account.id, {
          description: request.body.description ?? `Rollback to v${old.version}`,
          config: old.config,
          slugId: old.slugId,
        })
      })
      events.emit('app.changed', target.id)
      logRelease(app.ctx.logs, target.id, release, request.account.email)
      return reply.code(201).send(releaseJson(release, target, release.version))
    },
  )
}
