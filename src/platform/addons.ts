/**
 * Add-ons: Heroku Postgres and Redis servers in the data network of the owning app's space.
 * Creating one decides everything an app needs to connect (an address D.0.10… taken as a
 * network attachment of kind `data` owned by `addon:<id>`, so the network agent makes its
 * namespace; generated credentials) and attaches it to the app in one release, with the add-on
 * `provisioning`; the data agent runs the server and reports back (platform/data-servers.ts).
 * Destroying detaches it everywhere (a release per attachment) and leaves it `deprovisioning`
 * until the agent has removed the server.
 */
import { randomBytes, randomInt } from 'node:crypto'
import {
  findPlan,
  findService,
  plansOf,
  type AddonPlan,
  type AddonService,
} from '../core/addon-catalogue.js'
import type { Addon, AddonAttachment } from '../core/addons.js'
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import { generatePassword } from '../core/passwords.js'
import type { App, Release } from '../core/types.js'
import type { Store } from '../store/store.js'
import {
  commitAttachment,
  commitDetachment,
  serviceOf,
  type AttachOptions,
} from './addon-attachments.js'
import { ADJECTIVES } from './apps.js'
import type { Actor, PlatformContext } from './context.js'
import { released } from './releases.js'
import { recordFinalBackup } from './backups.js'

/** Heroku's add-on name pattern, with a length bound. */
const ADDON_NAME = /^[a-zA-Z][A-Za-z0-9_-]{1,99}$/

/** Heroku's multi-tenant tiers, which run outside any space. */
const SHARED_TIERS = /^(mini|basic|hobby|essential|standard|premium|dev|eco)(-|$)/

/** The network attachment that gives an add-on's server its namespace and address. */
export const addonNetworkOwner = (addonId: string): string => `addon:${addonId}`

/**
 * `heroku-postgresql:private-0`, `heroku-postgresql` (its default plan) or a plan id. Unknown
 * names are 404 as on Heroku; Heroku's shared tiers are a 422 naming the plans offered here.
 */
export function resolvePlan(spec: string): AddonPlan {
  const [serviceName, tier] = spec.split(':', 2) as [string, string | undefined]
  const byId = findPlan(spec)
  if (byId) return byId
  const service = findService(serviceName)
  const offered = (s: AddonService) =>
    plansOf(s)
      .map((p) => p.name)
      .join(', ')
  if (service && tier === undefined) return plansOf(service).find((p) => p.isDefault)!
  const plan = service && findPlan(tier!, service)
  if (plan) return plan
  if (service && SHARED_TIERS.test(tier!)) {
    throw errors.invalidParams(
      `localspace offers only Private-tier plans, which run inside a space: ${offered(service)}. ${tier} is a plan of Heroku's shared service outside any space.`,
    )
  }
  throw errors.notFound(
    'plan',
    service
      ? `Couldn't find either the add-on service or the add-on plan of "${spec}". ${service.name} plans: ${offered(service)}.`
      : `Couldn't find either the add-on service or the add-on plan of "${spec}".`,
  )
}

export interface CreateAddonRequest {
  plan: string
  name?: string | undefined
  attachment?: AttachOptions
  /** Provisioning options (`addons:create … -- --follow X`): strings or flags. */
  config?: Record<string, string | boolean> | undefined
  /** The Postgres add-on `--follow` named, resolved by the caller (who must see it). */
  leader?: Addon | undefined
}

function checkOptions(service: AddonService, req: CreateAddonRequest): void {
  const accepted = service.kind === 'postgres' ? ['follow'] : []
  for (const [key, value] of Object.entries(req.config ?? {})) {
    if (!accepted.includes(key)) {
      throw errors.invalidParams(
        `${service.name} has no option --${key} here${accepted.length ? `: it accepts ${accepted.map((k) => `--${k}`).join(', ')}` : ''}.`,
      )
    }
    if (typeof value !== 'string' || value === '') {
      throw errors.invalidParams(`--${key} needs a value.`)
    }
  }
  const leader = req.leader
  if (!leader) return
  if (serviceOf(leader).kind !== 'postgres') {
    throw errors.invalidParams(
      `${leader.name} is not a Heroku Postgres database: only those have followers.`,
    )
  }
  if (leader.leaderId !== null) {
    throw errors.invalidParams(`${leader.name} is itself a follower: followers cannot be chained.`)
  }
  if (leader.state === 'failed') {
    throw errors.invalidParams(`${leader.name} failed to provision: it cannot be followed.`)
  }
}

function generateAddonName(store: Store, service: AddonService): string {
  for (;;) {
    const name = `${service.namePrefix}-${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${randomInt(10000, 100000)}`
    if (!store.addons.nameTaken(name)) return name
  }
}

function checkAddonName(store: Store, name: string, exceptId?: string): void {
  if (!ADDON_NAME.test(name)) {
    throw errors.invalidParams(
      'Name must start with a letter and contain only letters, digits, dashes and underscores (at most 100).',
    )
  }
  // Taken also while a destroyed add-on's server is still being removed.
  if (store.addons.nameTaken(name) && store.addons.live(name)?.id !== exceptId) {
    throw errors.invalidParams('Name is already taken.')
  }
}

/** Credentials of a new server: a follower is a copy of its leader, roles included. */
function credentials(service: AddonService, leader: Addon | undefined) {
  if (leader) return { user: leader.user, password: leader.password, database: leader.database }
  if (service.kind === 'redis') return { user: '', password: generatePassword(), database: '' }
  const hex = () => randomBytes(7).toString('hex')
  return { user: `u${hex()}`, password: generatePassword(), database: `d${hex()}` }
}

/** `addons:create SERVICE:PLAN -a APP [--as NAME] [--name N] [-- --follow X]` */
export function createAddon(
  ctx: PlatformContext,
  app: App,
  actor: Actor,
  req: CreateAddonRequest,
): { addon: Addon; attachment: AddonAttachment; release: Release | undefined } {
  const { store, events } = ctx
  const plan = resolvePlan(req.plan)
  const service = plan.service
  if (service.unavailable) throw errors.invalidParams(service.unavailable)
  if (app.spaceId === null) {
    throw errors.invalidParams(
      `${plan.name} is a Private-tier plan, which runs inside a Private Space: ${app.name} is not in a space. Create it for an app in a space.`,
    )
  }
  checkOptions(service, req)
  if (req.config?.follow !== undefined && !req.leader) {
    throw errors.invalidParams('--follow needs the database to follow.')
  }
  if (req.name !== undefined) checkAddonName(store, req.name)
  const result = store.transaction(() => {
    const space = store.spaces.find(app.spaceId!)
    if (!space || space.state === 'deleting') {
      throw errors.invalidParams(`Space ${app.spaceName} is being deleted.`)
    }
    const id = newId()
    const network = store.network.allocateAttachment(space, 'data', addonNetworkOwner(id))
    const now = nowIso()
    const addon: Addon = {
      id,
      name: req.name ?? generateAddonName(store, service),
      appId: app.id,
      appName: app.name,
      spaceId: space.id,
      serviceName: service.name,
      planName: plan.name,
      state: 'provisioning',
      stateMessage: null,
      host: network.address,
      port: service.port,
      ...credentials(service, req.leader),
      tls: true,
      leaderId: req.leader?.id ?? null,
      createdAt: now,
      updatedAt: now,
    }
    store.addons.insert(addon)
    const attached = commitAttachment(store, addon, app, actor.id, req.attachment ?? {})
    return { addon: store.addons.byId(id)!, ...attached }
  })
  events.emit('network.changed', result.addon.spaceId)
  events.emit('addons.changed', result.addon.spaceId)
  if (result.release) released(ctx, app.id, result.release, actor.email)
  return result
}

/** `addons:rename`, `addons:upgrade` (another plan of the same service). */
export function updateAddon(
  ctx: PlatformContext,
  addon: Addon,
  change: { name?: string | undefined; plan?: string | undefined },
): Addon {
  const { store, events } = ctx
  let planName = addon.planName
  if (change.plan !== undefined) {
    const service = serviceOf(addon)
    const plan = resolvePlan(
      change.plan.includes(':') ? change.plan : `${service.name}:${change.plan}`,
    )
    if (plan.service !== service) {
      throw errors.invalidParams(
        `${addon.name} is a ${service.name} add-on: choose one of its plans.`,
      )
    }
    planName = plan.name
  }
  if (change.name !== undefined) checkAddonName(store, change.name, addon.id)
  store.addons.update(
    addon.id,
    { name: change.name ?? addon.name, planName, leaderId: addon.leaderId },
    nowIso(),
  )
  // A new plan is a new memory and connection limit for the server.
  if (planName !== addon.planName) events.emit('addons.changed', addon.spaceId)
  return store.addons.byId(addon.id)!
}

/**
 * `addons:destroy`: every attachment goes (a `Detach …` release for each app), the add-on
 * becomes `deprovisioning` and the data agent removes the server. Followers of a destroyed
 * leader stop following and keep their data as standalone databases: they are the copies a
 * user keeps for when the leader is lost. A Postgres database's server runs on until its final
 * backup is done (platform/backups.ts `recordFinalBackup`).
 */
export function destroyAddon(ctx: PlatformContext, addon: Addon, actor: Actor): Addon {
  const { store, events } = ctx
  const spaces = new Set([addon.spaceId])
  let finalBackup = false
  const releases = store.transaction(() => {
    const made: Release[] = []
    finalBackup = recordFinalBackup(store, addon) !== undefined
    for (const attachment of store.addons.attachmentsOfAddon(addon.id)) {
      const release = commitDetachment(store, attachment, addon, actor.id)
      if (release) made.push(release)
    }
    for (const follower of store.addons.followersOf(addon.id)) {
      store.addons.update(follower.id, { ...follower, leaderId: null }, nowIso())
      spaces.add(follower.spaceId)
    }
    store.addons.setState(addon.id, 'deprovisioning', null, nowIso())
    return made
  })
  if (finalBackup) events.emit('transfers.changed', addon.id)
  for (const spaceId of spaces) events.emit('addons.changed', spaceId)
  for (const release of releases) released(ctx, release.appId, release, actor.email)
  return store.addons.byId(addon.id)!
}

/** `pg:unfollow`: the follower stops replicating and takes writes (the agent promotes it). */
export function unfollowAddon(ctx: PlatformContext, addon: Addon): Addon {
  if (addon.leaderId === null) {
    throw errors.invalidParams(`${addon.name} is not following another database.`)
  }
  const leader = ctx.store.addons.byId(addon.leaderId)
  ctx.store.addons.update(addon.id, { ...addon, leaderId: null }, nowIso())
  ctx.events.emit('addons.changed', addon.spaceId)
  if (leader && leader.spaceId !== addon.spaceId) ctx.events.emit('addons.changed', leader.spaceId)
  return ctx.store.addons.byId(addon.id)!
}
