/**
 * Custom domains: added (pending until their TXT token is found, or at once where the operator
 * turned verification off), given an SNI endpoint, removed, and marked verified by the daemon's
 * verifier (src/daemon/domain-verifier.ts). After each commit `domains.changed` tells the
 * router feed, which serves verified domains only.
 *
 * Claims: any number of apps may claim a hostname while it is unverified (nobody can squat a
 * name they do not control); the first to verify holds it (`store.domains.blocker`), later
 * claims are refused, and a verified wildcard keeps other teams from the names one label under
 * it.
 */
import {
  MAX_DOMAINS_PER_APP,
  newVerificationToken,
  underDomain,
  type AppDomain,
  type SniEndpoint,
} from '../core/domains.js'
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import type { App } from '../core/types.js'
import type { PlatformContext } from './context.js'

export interface NewDomain {
  /** Already parsed and lower-cased (core/domains.ts `parseHostname`). */
  hostname: string
  endpoint: SniEndpoint | undefined
  /** The router's own domain, where apps have their default names. */
  routerDomain: string
  /** `--domain-verification off`: verified as soon as added. */
  verifiedAtOnce: boolean
}

export function addDomain({ store, events }: PlatformContext, app: App, d: NewDomain): AppDomain {
  const { hostname } = d
  if (underDomain(hostname, d.routerDomain)) {
    throw errors.invalidParams(
      `${hostname} is under ${d.routerDomain}, where apps have their default domains; add a domain of your own.`,
    )
  }
  const now = nowIso()
  const record: AppDomain = {
    id: newId(),
    appId: app.id,
    hostname,
    sniEndpointId: d.endpoint?.id ?? null,
    verificationToken: newVerificationToken(),
    verifiedAt: d.verifiedAtOnce ? now : null,
    createdAt: now,
    updatedAt: now,
  }
  store.transaction(() => {
    // Heroku's own messages for both cases.
    if (store.domains.find(app.id, hostname)) {
      throw errors.invalidParams('Domain already added to this app.')
    }
    const blocker = store.domains.blocker(app.id, hostname)
    if (blocker?.hostname === hostname) {
      throw errors.invalidParams(`${hostname} is currently in use by another app.`)
    }
    if (blocker) {
      throw errors.invalidParams(
        `${hostname} is covered by the wildcard domain ${blocker.hostname}, which an app of another team holds.`,
      )
    }
    if (store.domains.count(app.id) >= MAX_DOMAINS_PER_APP) {
      throw errors.invalidParams(`An app may have at most ${MAX_DOMAINS_PER_APP} domains.`)
    }
    store.domains.insert(record)
  })
  events.emit('domains.changed', app.id)
  return record
}

/** `domains:update --cert`: the endpoint (already checked to cover it) or none. */
export function setDomainEndpoint(
  { store, events }: PlatformContext,
  d: AppDomain,
  endpoint: SniEndpoint | undefined,
): AppDomain {
  const now = nowIso()
  store.domains.setSniEndpoint(d.id, endpoint?.id ?? null, now)
  events.emit('domains.changed', d.appId)
  return { ...d, sniEndpointId: endpoint?.id ?? null, updatedAt: now }
}

export function removeDomain({ store, events }: PlatformContext, d: AppDomain): void {
  store.domains.delete(d.id)
  events.emit('domains.changed', d.appId)
}

/**
 * The verifier found the token: verified, unless another app verified the name (or a wildcard
 * over it) meanwhile. True when marked; `domains.changed` follows.
 */
export function markDomainVerified({ store, events }: PlatformContext, d: AppDomain): boolean {
  const marked = store.transaction(
    () => !store.domains.blocker(d.appId, d.hostname) && store.domains.markVerified(d.id, nowIso()),
  )
  if (marked) events.emit('domains.changed', d.appId)
  return marked
}
