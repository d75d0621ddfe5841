/**
 * Formation: how many dynos of each process type run, and at what size. Two writers change it:
 * `ps:scale`/`ps:type` (scaleFormation) and a deploy, whose slug declares the process types
 * (followProcessTypes). Both give a new type the same default size, decided here only.
 */
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import { PROCESS_TYPE } from '../core/names.js'
import { DEFAULT_COMMON_SIZE, DEFAULT_SPACE_SIZE, findDynoSize } from '../core/sizes.js'
import type { App, Formation, ProcessTypes } from '../core/types.js'
import type { Store } from '../store/store.js'
import type { PlatformContext } from './context.js'

export const MAX_QUANTITY = 100

/** A change asked for one process type; absent fields keep their value. */
export interface FormationUpdate {
  type?: string
  quantity?: number | string
  size?: string
}

/** The size a process type gets until someone picks one: Private-S in a space. */
export const defaultSize = (app: App): string =>
  app.spaceId ? DEFAULT_SPACE_SIZE : DEFAULT_COMMON_SIZE

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

/**
 * `ps:scale` and `ps:type`: applies a batch of updates atomically (all of them, or none when
 * one is refused), then emits `formation.changed`. Returns the updated process types.
 */
export function scaleFormation(
  { store, events }: PlatformContext,
  app: App,
  updates: readonly FormationUpdate[],
): Formation[] {
  const changed = store.transaction(() => {
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
        size: u.size === undefined ? (current?.size ?? defaultSize(app)) : resolveSize(u.size, app),
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
      }
      store.releases.upsertFormation(next)
      existing.set(type, next)
    }
    const touched = new Set(updates.map((u) => u.type))
    return [...existing.values()].filter((f) => touched.has(f.type))
  })
  events.emit('formation.changed', app.id)
  return changed
}

/**
 * A deploy's formation follows its process types, as on Heroku: a type seen for the first time
 * is added (`web` with one dyno, others with none); a known type keeps its quantity and size and
 * takes the new command. Call inside the deploy's transaction; the caller emits.
 */
export function followProcessTypes(
  store: Store,
  app: App,
  processTypes: ProcessTypes,
  now: string,
): void {
  const existing = new Map(store.releases.formation(app.id).map((f) => [f.type, f]))
  for (const [type, command] of Object.entries(processTypes)) {
    const current = existing.get(type)
    store.releases.upsertFormation({
      id: current?.id ?? newId(),
      appId: app.id,
      type,
      command,
      quantity: current?.quantity ?? (type === 'web' ? 1 : 0),
      size: current?.size ?? defaultSize(app),
      createdAt: current?.createdAt ?? now,
      updatedAt: now,
    })
  }
}
