/**
 * Releases: the app's history of code and config. Every change to either is a new release
 * v N+1 (appendRelease), made here only: a config change, a rollback, a deploy. After the
 * commit the app's subscribers hear `app.changed` (a deploy also `formation.changed`) and the
 * app's log gets Heroku's two `heroku[api]` lines; a refused change leaves neither behind.
 */
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import { logRelease } from '../core/log-view.js'
import { CONFIG_KEY, isConfigValue } from '../core/names.js'
import type { App, Build, ConfigVars, Release, Slug } from '../core/types.js'
import type { Store } from '../store/store.js'
import type { Actor, PlatformContext } from './context.js'
import { followProcessTypes } from './formation.js'

export const MAX_CONFIG_BYTES = 32 * 1024

/** Appends a release after the app's current one; call inside a transaction. */
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

/** The config the app runs with: its current release's. */
export const currentConfig = (store: Store, appId: string): ConfigVars =>
  store.releases.current(appId)?.config ?? {}

function describeConfigChange(set: string[], removed: string[]): string {
  const list = (keys: string[]) => keys.join(', ')
  if (set.length && removed.length)
    return `Set ${list(set)} and remove ${list(removed)} config vars`
  if (set.length) return `Set ${list(set)} config vars`
  return `Remove ${list(removed)} config vars`
}

function checkConfigVar(key: string, value: string | null): void {
  if (!CONFIG_KEY.test(key)) {
    throw errors.invalidParams(
      `Invalid config var name ${JSON.stringify(key)}: use letters, digits and underscores, not starting with a digit.`,
    )
  }
  if (value !== null && !isConfigValue(value)) {
    throw errors.invalidParams(`Config var ${key} may not contain a NUL character.`)
  }
}

/**
 * `config:set` / `config:unset`: a string sets a var, null removes it. A patch that changes
 * nothing makes no release and emits nothing. Returns the config after the patch and the
 * release it made, if any.
 */
export function setConfigVars(
  ctx: PlatformContext,
  app: App,
  actor: Actor,
  patch: Readonly<Record<string, string | null>>,
): { config: ConfigVars; release: Release | undefined } {
  const { store } = ctx
  for (const [key, value] of Object.entries(patch)) checkConfigVar(key, value)
  const result = store.transaction(() => commitConfigPatch(store, app, actor.id, patch))
  if (result.release) released(ctx, app.id, result.release, actor.email)
  return result
}

/**
 * Applies a config patch (a string sets a var, null removes it) as release v N+1, described as
 * `description` or as `config:set` does; no release when nothing changes. Call inside a
 * transaction, and `released()` after its commit: add-on attachments change config this way.
 */
export function commitConfigPatch(
  store: Store,
  app: App,
  userId: string,
  patch: Readonly<Record<string, string | null>>,
  description?: string,
): { config: ConfigVars; release: Release | undefined } {
  // Null-prototype maps: names such as `constructor` or `__proto__` are plain var names.
  const config = Object.assign(Object.create(null) as ConfigVars, currentConfig(store, app.id))
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
  if (set.length === 0 && removed.length === 0) return { config, release: undefined }
  if (Buffer.byteLength(JSON.stringify(config)) > MAX_CONFIG_BYTES) {
    throw errors.invalidParams(`Config vars may total at most ${MAX_CONFIG_BYTES / 1024} kB.`)
  }
  const slugId = store.releases.current(app.id)?.slugId ?? null
  const release = appendRelease(store, app, userId, {
    description: description ?? describeConfigChange(set, removed),
    config,
    slugId,
  })
  return { config, release }
}

/** `releases:rollback`: a new release with an old one's slug and config. */
export function rollback(
  ctx: PlatformContext,
  app: App,
  actor: Actor,
  to: { release: string; description?: string },
): Release {
  const { store } = ctx
  const release = store.transaction(() => {
    const old = store.releases.find(app.id, to.release)
    if (!old) throw errors.notFound('release')
    return appendRelease(store, app, actor.id, {
      description: to.description ?? `Rollback to v${old.version}`,
      config: old.config,
      slugId: old.slugId,
    })
  })
  released(ctx, app.id, release, actor.email)
  return release
}

/** `Deploy 1a2b3c4d`: the source version when there is one, as Heroku describes deploys. */
export const deployDescription = (build: Build): string =>
  `Deploy ${(build.sourceVersion ?? build.id).slice(0, 8)}`

/**
 * A finished build becomes the app's new release, in one transaction: the slug row, release
 * v N+1 (the slug and the app's current config), formation for the slug's process types, and
 * the build marked succeeded. Either all of it lands or none does; then `formation.changed`.
 */
export function releaseBuild(ctx: PlatformContext, build: Build, slug: Slug): Release {
  const { store, events } = ctx
  const release = store.transaction(() => {
    const app = store.apps.find(build.appId)
    if (!app) throw new Error('The app was deleted during the build.')
    store.builds.insertSlug(slug)
    const release = appendRelease(store, app, build.userId, {
      description: deployDescription(build),
      config: currentConfig(store, app.id),
      slugId: slug.id,
    })
    followProcessTypes(store, app, slug.processTypes, release.createdAt)
    store.builds.finish(
      build.id,
      { status: 'succeeded', slugId: slug.id, releaseId: release.id },
      release.createdAt,
    )
    return release
  })
  events.emit('formation.changed', build.appId)
  released(ctx, build.appId, release, build.userEmail)
  return release
}

/** After a release is committed: subscribers follow the app, its log says who released what. */
export function released(
  ctx: PlatformContext,
  appId: string,
  release: Release,
  email: string,
): void {
  ctx.events.emit('app.changed', appId)
  if (ctx.logs) logRelease(ctx.logs, appId, release, email)
}
