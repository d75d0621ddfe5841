/**
 * Apps: made, renamed, put in maintenance, given a feature flag, destroyed. Each change is
 * committed and then `app.changed` tells the daemon's modules (router, DNS, runtime) to follow.
 * The caller has already found the app, space and team and checked the caller may use them.
 */
import { randomInt } from 'node:crypto'
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import { APP_NAME } from '../core/names.js'
import { DEFAULT_APP_REGION, findRegion } from '../core/regions.js'
import { checkStack, STACK_NAME } from '../core/stacks.js'
import type { Account, App, Space, Team } from '../core/types.js'
import type { Store } from '../store/store.js'
import type { PlatformContext } from './context.js'
import { appendRelease } from './releases.js'

/** What `apps:create` asks for; `space` and `team` already resolved and authorised. */
export interface NewApp {
  name?: string
  region?: string
  stack?: string
  space?: Space
  team?: Team | undefined
  internalRouting?: boolean
}

/** Also in add-on names (platform/addons.ts). */
export const ADJECTIVES = [
  'quiet',
  'bright',
  'frozen',
  'gentle',
  'hidden',
  'lively',
  'polar',
  'shiny',
]
const NOUNS = ['river', 'meadow', 'harbor', 'forest', 'canyon', 'lagoon', 'summit', 'valley']

function generateName(store: Store): string {
  for (;;) {
    const pick = (l: readonly string[]) => l[randomInt(l.length)]!
    const name = `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomInt(10000, 100000)}`
    if (!store.apps.nameTaken(name)) return name
  }
}

function checkAppName(store: Store, name: string, exceptId?: string): void {
  if (!APP_NAME.test(name)) {
    throw errors.invalidParams(
      'Name must start with a letter, end with a letter or digit and can only contain lowercase letters, digits, and dashes (3 to 30 characters).',
    )
  }
  const existing = store.apps.find(name)
  if (existing && existing.id !== exceptId) throw errors.invalidParams('Name is already taken.')
}

/** An app in a space runs in the space's region; outside, in a Common Runtime region. */
function placeRegion(wanted: string | undefined, space: Space | undefined): string {
  if (wanted === undefined) return space?.region ?? DEFAULT_APP_REGION
  const region = findRegion(wanted)
  if (!region) throw errors.invalidParams(`Region ${wanted} does not exist.`)
  if (space && region.name !== space.region) {
    throw errors.invalidParams(
      `Apps in space ${space.name} run in its region, ${space.region}, not ${region.name}.`,
    )
  }
  if (!space && region.privateCapable) {
    throw errors.invalidParams(`Region ${region.name} is only available to Private Spaces apps.`)
  }
  return region.name
}

/** Stores the app with its first release (v1, no code, no config), then `app.changed`. */
export function createApp({ store, events }: PlatformContext, owner: Account, wanted: NewApp): App {
  const { space, team } = wanted
  if (wanted.internalRouting && !space) {
    throw errors.invalidParams('Internal routing is only available for Private Spaces apps.')
  }
  if (space?.state === 'deleting') {
    throw errors.invalidParams(`Space ${space.name} is being deleted.`)
  }
  if (space && team?.id !== space.teamId) {
    throw errors.invalidParams(`Space ${space.name} does not belong to team ${team?.name}.`)
  }
  const region = placeRegion(wanted.region, space)
  const stack = wanted.stack ?? STACK_NAME
  checkStack(stack, 'Stack')
  const created = store.transaction(() => {
    const name = wanted.name ?? generateName(store)
    checkAppName(store, name)
    const now = nowIso()
    const app: App = {
      id: newId(),
      name,
      ownerId: owner.id,
      ownerEmail: owner.email,
      teamId: team?.id ?? null,
      teamName: team?.name ?? null,
      spaceId: space?.id ?? null,
      spaceName: space?.name ?? null,
      spaceShield: space?.shield ?? false,
      region,
      internalRouting: !!wanted.internalRouting,
      maintenance: false,
      stack,
      buildStack: stack,
      createdAt: now,
      updatedAt: now,
      releasedAt: now,
    }
    store.apps.insert(app)
    appendRelease(store, app, owner.id, {
      description: 'Initial release',
      config: {},
      slugId: null,
    })
    return store.apps.find(app.id)!
  })
  events.emit('app.changed', created.id)
  return created
}

/** `apps:rename`, `maintenance:on/off`, `stack:set`; then `app.changed`. */
export function updateApp(
  { store, events }: PlatformContext,
  app: App,
  changes: { name?: string; maintenance?: boolean; buildStack?: string },
): App {
  if (changes.buildStack !== undefined) checkStack(changes.buildStack, 'Stack')
  store.transaction(() => {
    if (changes.name !== undefined) checkAppName(store, changes.name, app.id)
    store.apps.update(app.id, changes, nowIso())
  })
  events.emit('app.changed', app.id)
  return store.apps.find(app.id)!
}

/** `apps:destroy`: the app and everything of it goes; the host follows `app.changed`. */
export function destroyApp({ store, events }: PlatformContext, app: App): void {
  store.apps.delete(app.id)
  events.emit('app.changed', app.id)
}

/** `labs:enable/disable -a APP`; the feature name is one of core/features.ts. */
export function setAppFeature(
  { store, events }: PlatformContext,
  app: App,
  feature: string,
  enabled: boolean,
): void {
  store.apps.setFeature(app.id, feature, enabled, nowIso())
  events.emit('app.changed', app.id)
}
