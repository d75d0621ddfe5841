/**
 * The seam between add-ons (desired state) and the data agent that runs their servers:
 * `desiredDataServers` is what the agent should run; the agent reports back with
 * `markAddonAvailable`, `markAddonFailed` and, once a server is gone, `markAddonDeprovisioned`.
 * Each commits and then emits what follows (a release when the connection changed,
 * `addons.changed`, `network.changed`).
 */
import { findPlan } from '../core/addon-catalogue.js'
import {
  attachmentConfigVar,
  type ConnectionFacts,
  type DesiredDataServer,
} from '../core/addons.js'
import { nowIso } from '../core/ids.js'
import type { Release } from '../core/types.js'
import type { Store } from '../store/store.js'
import { addonUrl, serviceOf } from './addon-attachments.js'
import { addonNetworkOwner } from './addons.js'
import { backupPending } from './backups.js'
import type { PlatformContext } from './context.js'
import { commitConfigPatch, released } from './releases.js'

/**
 * Every server that should run: add-ons `provisioning` or `provisioned` (of every space, or of
 * one), with the plan's limits and a follower's leader. Anything else the agent runs is to go.
 */
export function desiredDataServers(store: Store, spaceId?: string): DesiredDataServer[] {
  const all = store.addons.all()
  const byId = new Map(all.map((a) => [a.id, a]))
  const out: DesiredDataServer[] = []
  for (const a of all) {
    if (spaceId !== undefined && a.spaceId !== spaceId) continue
    // A destroyed database runs on until its final backup is done.
    const finalBackup = a.state === 'deprovisioning' && backupPending(store, a.id)
    if (a.state !== 'provisioning' && a.state !== 'provisioned' && !finalBackup) continue
    const kind = serviceOf(a).kind
    if (kind === 'kafka') continue
    const plan = findPlan(a.planName)!
    const leader = a.leaderId === null ? undefined : byId.get(a.leaderId)
    out.push({
      addonId: a.id,
      addonName: a.name,
      kind,
      spaceId: a.spaceId,
      state: finalBackup ? 'provisioned' : (a.state as DesiredDataServer['state']),
      planName: a.planName,
      memoryMb: plan.memoryMb,
      maxConnections: plan.maxConnections,
      host: a.host,
      port: a.port,
      user: a.user,
      password: a.password,
      database: a.database,
      tls: a.tls,
      leader: leader
        ? { addonId: leader.id, spaceId: leader.spaceId, host: leader.host, port: leader.port }
        : null,
    })
  }
  return out
}

/**
 * Add-ons whose server and namespace are to be removed: destroyed ones (`deprovisioning`),
 * and those whose app was destroyed with them (only their network attachment is left). The
 * agent removes each server, then calls `markAddonDeprovisioned`.
 */
export function addonsToRemove(store: Store): string[] {
  const ids = store.addons
    .all()
    .filter((a) => a.state === 'deprovisioning' && !backupPending(store, a.id))
    .map((a) => a.id)
  for (const n of store.network.attachments()) {
    const m = /^addon:(.+)$/.exec(n.owner)
    if (m && n.state !== 'detaching' && !store.addons.byId(m[1]!)) ids.push(m[1]!)
  }
  return ids
}

const sameFacts = (a: ConnectionFacts, b: ConnectionFacts) =>
  a.host === b.host &&
  a.port === b.port &&
  a.user === b.user &&
  a.password === b.password &&
  a.database === b.database &&
  a.tls === b.tls

/**
 * The server answers with these connection facts: the add-on is `provisioned`. Facts that
 * differ from the ones decided at creation are recorded and every attachment's URL follows,
 * in an `Update NAME by heroku-postgresql` release as on Heroku. False when the add-on is
 * gone or being removed (the agent then removes the server).
 */
export function markAddonAvailable(
  ctx: PlatformContext,
  addonId: string,
  facts: ConnectionFacts,
): boolean {
  const { store, events } = ctx
  const releases: Release[] = []
  const done = store.transaction(() => {
    const addon = store.addons.byId(addonId)
    if (!addon || addon.state === 'deprovisioning') return false
    const now = nowIso()
    if (!sameFacts(addon, facts)) {
      store.addons.setConnection(addon.id, facts, now)
      const url = addonUrl({ ...addon, ...facts })
      for (const t of store.addons.attachmentsOfAddon(addon.id)) {
        const app = store.apps.find(t.appId)!
        const patch = { [attachmentConfigVar(t.name)]: url }
        const description = `Update ${t.name} by ${addon.serviceName}`
        const { release } = commitConfigPatch(store, app, app.ownerId, patch, description)
        if (release) releases.push(release)
      }
    }
    store.addons.setState(addon.id, 'provisioned', null, now)
    return true
  })
  if (done) events.emit('addons.changed', store.addons.byId(addonId)!.spaceId)
  for (const r of releases) released(ctx, r.appId, r, store.apps.find(r.appId)!.ownerEmail)
  return done
}

/** Provisioning gave up: `heroku addons` shows the add-on errored, `pg:wait` the message. */
export function markAddonFailed(ctx: PlatformContext, addonId: string, message: string): boolean {
  const addon = ctx.store.addons.byId(addonId)
  if (!addon || addon.state !== 'provisioning') return false
  ctx.store.addons.setState(addonId, 'failed', message, nowIso())
  ctx.events.emit('addons.changed', addon.spaceId)
  return true
}

/**
 * The agent removed the server of a destroyed add-on (or of one whose app was destroyed): the
 * record goes and its data address with its namespace (the network agent detaches it). A
 * live add-on is left alone: false.
 */
export function markAddonDeprovisioned(ctx: PlatformContext, addonId: string): boolean {
  const { store, events } = ctx
  const spaces = store.transaction(() => {
    const addon = store.addons.byId(addonId)
    if (addon && addon.state !== 'deprovisioning') return undefined
    if (addon) store.addons.delete(addon.id)
    const owned = store.network.attachments().filter((n) => n.owner === addonNetworkOwner(addonId))
    for (const n of owned) store.network.setAttachmentState(n.id, 'detaching', nowIso())
    return new Set(owned.map((n) => n.spaceId))
  })
  for (const spaceId of spaces ?? []) events.emit('network.changed', spaceId)
  return spaces !== undefined
}
