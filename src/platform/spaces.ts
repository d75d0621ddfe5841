/**
 * Spaces: made, renamed, destroyed, and their trusted IP ranges (the inbound ruleset). A new
 * space gets unique networks, its outbound addresses and Heroku's default ruleset in the same
 * commit; then `space.changed` (and `ruleset.changed`) tell the network agent to build it.
 */
import type { AddressPolicy } from '../core/address-policy.js'
import { parseCidr } from '../core/cidr.js'
import { pickEgressAddresses, poolFor, type EgressPool } from '../core/egress.js'
import { errors } from '../core/errors.js'
import { newId, nowIso, shortId } from '../core/ids.js'
import { SPACE_NAME, SPACE_NAME_MAX } from '../core/names.js'
import { findRegion } from '../core/regions.js'
import { planSpaceCidrs } from '../core/space-cidrs.js'
import type { InboundRuleset, Space, Team, TrustedRule } from '../core/types.js'
import type { Store } from '../store/store.js'
import type { Actor, PlatformContext } from './context.js'
import { spaceDrainFor } from './drains.js'

export const DEFAULT_SPACE_REGION = 'virginia'
export const MAX_TRUSTED_RANGES = 20

/** What `spaces:create` asks for; the team already resolved, the caller one of its admins. */
export interface NewSpace {
  name: string
  team: Team
  region?: string
  cidr?: string
  dataCidr?: string
  shield?: boolean
  generation?: string
  logDrainUrl?: string
}

/** What of the host a new space depends on. */
export interface SpaceHostFacts {
  /** Networks of the host a space must not overlap. */
  reservedCidrs: readonly string[]
  egressPools: readonly EgressPool[]
  egressPerSpace: number
  /** Where a space log drain may point. */
  addressPolicy: AddressPolicy
}

function checkSpaceName(store: Store, name: string, exceptId?: string): void {
  if (!SPACE_NAME.test(name) || name.length > SPACE_NAME_MAX) {
    throw errors.invalidParams(
      `Name must be 3 to ${SPACE_NAME_MAX} lowercase letters, digits and single dashes, starting and ending with a letter or digit.`,
    )
  }
  const existing = store.spaces.find(name)
  if (existing && existing.id !== exceptId) throw errors.invalidParams('Name is already taken.')
}

/** A space id whose short form (it names the space's bridges) no other space has. */
function newSpaceId(store: Store): string {
  const used = new Set(store.spaces.all().map((s) => shortId(s.id)))
  for (;;) {
    const id = newId()
    if (!used.has(shortId(id))) return id
  }
}

/** Networks a new space must not overlap: every space's pair plus the host's own. */
const takenCidrs = (store: Store, hostCidrs: readonly string[]): string[] => [
  ...store.spaces.all().flatMap((s) => [s.cidr, s.dataCidr]),
  ...hostCidrs,
]

export function createSpace(
  { store, events }: PlatformContext,
  creator: Actor,
  wanted: NewSpace,
  host: SpaceHostFacts,
): Space {
  const regionName = wanted.region ?? DEFAULT_SPACE_REGION
  const region = findRegion(regionName)
  if (!region?.privateCapable) {
    throw errors.invalidParams(`Region ${regionName} is not available for Private Spaces.`)
  }
  const generation = wanted.generation ?? 'cedar'
  if (generation !== 'cedar' && generation !== 'fir') {
    throw errors.invalidParams('generation must be cedar or fir.')
  }
  if (wanted.shield && generation === 'fir') {
    throw errors.invalidParams('shield spaces are not supported for fir generation')
  }
  const now = nowIso()
  // Name and CIDR checks read what the insert depends on: one transaction, so two
  // concurrent creates cannot both take the same name or network.
  const space = store.transaction(() => {
    checkSpaceName(store, wanted.name)
    const pair = planSpaceCidrs(
      { cidr: wanted.cidr, dataCidr: wanted.dataCidr },
      takenCidrs(store, host.reservedCidrs),
    )
    const created: Space = {
      id: newSpaceId(store),
      name: wanted.name,
      teamId: wanted.team.id,
      teamName: wanted.team.name,
      region: region.name,
      state: 'allocating',
      shield: !!wanted.shield,
      cidr: pair.cidr,
      dataCidr: pair.dataCidr,
      generation,
      createdAt: now,
      updatedAt: now,
    }
    store.spaces.insert(created)
    // Outbound addresses are handed out now, so an exhausted pool refuses the space
    // before anything is stored.
    const pool = poolFor(host.egressPools, region.name)
    if (pool) {
      const taken = new Set(store.network.allEgress())
      store.network.insertEgress(
        created.id,
        pickEgressAddresses(pool, taken, host.egressPerSpace),
        now,
      )
    }
    // A new space admits the whole internet until its admins say otherwise (Heroku's default).
    store.spaces.insertRuleset({
      id: newId(),
      spaceId: created.id,
      version: 1,
      rules: [{ action: 'allow', source: '0.0.0.0/0' }],
      createdBy: creator.email,
      applied: false,
      createdAt: now,
    })
    if (wanted.logDrainUrl !== undefined) {
      store.spaces.upsertLogDrain(
        spaceDrainFor(created.id, wanted.logDrainUrl, now, host.addressPolicy),
      )
    }
    return created
  })
  events.emit('space.changed', space.id)
  events.emit('ruleset.changed', space.id)
  return space
}

/** Only the name changes; the space's bridges are named by its id, so nothing on the host. */
export function renameSpace({ store }: PlatformContext, space: Space, name: string): Space {
  if (name !== space.name) {
    store.transaction(() => {
      checkSpaceName(store, name, space.id)
      store.spaces.rename(space.id, name, nowIso())
    })
  }
  return store.spaces.find(space.id)!
}

/** An empty space is marked `deleting`; the network agent tears it down and removes it. */
export function destroySpace({ store, events }: PlatformContext, space: Space): Space {
  const deleting = store.transaction(() => {
    if (store.spaces.appCount(space.id) > 0) {
      throw errors.invalidParams('Space must not contain any apps. Destroy its apps first.')
    }
    store.spaces.setState(space.id, 'deleting', nowIso())
    return store.spaces.find(space.id)!
  })
  events.emit('space.changed', space.id)
  return deleting
}

/** `spaces:trusted-ips`: a new ruleset version replaces the whole list; the firewall follows. */
export function setInboundRuleset(
  { store, events }: PlatformContext,
  space: Space,
  actor: Actor,
  rules: readonly TrustedRule[],
): InboundRuleset {
  if (rules.length > MAX_TRUSTED_RANGES) {
    throw errors.invalidParams(`Maximum of ${MAX_TRUSTED_RANGES} trusted IP ranges.`)
  }
  for (const r of rules) {
    if (!parseCidr(r.source)) {
      throw errors.invalidParams(
        `${JSON.stringify(r.source)} must be a valid IPv4 CIDR, such as 203.0.113.0/24.`,
      )
    }
  }
  const ruleset = store.transaction(() => {
    const version = (store.spaces.currentRuleset(space.id)?.version ?? 0) + 1
    const created = {
      id: newId(),
      spaceId: space.id,
      version,
      rules: rules.map((r) => ({ action: r.action, source: r.source })),
      createdBy: actor.email,
      applied: false,
      createdAt: nowIso(),
    }
    store.spaces.insertRuleset(created)
    return created
  })
  events.emit('ruleset.changed', space.id)
  return store.spaces.ruleset(space.id, ruleset.id) ?? ruleset
}
