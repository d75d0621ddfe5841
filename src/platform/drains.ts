/**
 * Log drains: an app's own (`heroku drains:add`) and a space's (every app in it drains there).
 * A drain's host must be one the installation may send to (core/address-policy.ts); then
 * `drains.changed` tells the drain dispatcher (src/logs/drains.ts) after the commit.
 */
import type { AddressPolicy } from '../core/address-policy.js'
import { drainHostError, newDrainToken, parseDrainUrl, type AppLogDrain } from '../core/drains.js'
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import type { App, LogDrain, Space } from '../core/types.js'
import type { PlatformContext } from './context.js'

/** More would only multiply the work of every line the app writes. */
export const MAX_DRAINS_PER_APP = 10

export function addAppDrain(
  { store, events }: PlatformContext,
  app: App,
  rawUrl: string,
  policy: AddressPolicy,
): AppLogDrain {
  const url = rawUrl.trim()
  const endpoint = parseDrainUrl(url)
  if ('error' in endpoint) throw errors.invalidParams(endpoint.error)
  const refused = drainHostError(endpoint.host, policy)
  if (refused) throw errors.invalidParams(refused)
  const now = nowIso()
  const drain: AppLogDrain = {
    id: newId(),
    appId: app.id,
    url,
    token: newDrainToken(),
    createdAt: now,
    updatedAt: now,
  }
  store.transaction(() => {
    const existing = store.drains.forApp(app.id)
    if (existing.some((d) => d.url === url)) {
      throw errors.invalidParams('Url has already been taken.')
    }
    if (existing.length >= MAX_DRAINS_PER_APP) {
      throw errors.invalidParams(`An app may have at most ${MAX_DRAINS_PER_APP} log drains.`)
    }
    store.drains.insert(drain)
  })
  events.emit('drains.changed', app.id)
  return drain
}

export function removeAppDrain(
  { store, events }: PlatformContext,
  app: App,
  drain: AppLogDrain,
): void {
  store.drains.delete(drain.id)
  events.emit('drains.changed', app.id)
}

/** A space's drain: HTTPS only, to a host the policy allows. Stored by the caller's commit. */
export function spaceDrainFor(
  spaceId: string,
  url: string,
  now: string,
  policy: AddressPolicy,
): LogDrain {
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  if (parsed?.protocol !== 'https:') {
    throw errors.invalidParams('Log drain url must be a valid HTTPS URL.')
  }
  const refused = drainHostError(parsed.hostname, policy)
  if (refused) throw errors.invalidParams(refused)
  return { id: newId(), spaceId, url, token: newDrainToken(), createdAt: now, updatedAt: now }
}

/** `PUT /spaces/{space}/log-drain`: sets (or replaces) the space's drain. */
export function setSpaceDrain(
  { store, events }: PlatformContext,
  space: Space,
  url: string,
  policy: AddressPolicy,
): LogDrain {
  store.spaces.upsertLogDrain(spaceDrainFor(space.id, url, nowIso(), policy))
  events.emit('drains.changed', space.id)
  return store.spaces.logDrain(space.id)!
}
