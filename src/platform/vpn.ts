/**
 * Site-to-site VPN connections (issue 16): made, their CIDRs changed, deleted. Malformed
 * input is a 422 that changes nothing; a well-formed connection whose CIDRs are already
 * routed elsewhere is stored `failed` with Heroku's "supplied CIDR block already in use", as
 * Heroku does. Two tunnel addresses come from the region's `--vpn-pool` in the same commit.
 * After each commit, `vpn.changed` tells the host side; what it observes it writes itself
 * (store/vpn.repo.ts: setConnectionStatus, setTunnelStatus, finishDeprovisioning).
 */
import type { AddressPool } from '../core/egress.js'
import { poolFor } from '../core/egress.js'
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import type { Space } from '../core/types.js'
import {
  CIDR_IN_USE,
  checkCustomerIp,
  checkIkeVersion,
  checkPrivateCidrs,
  checkVpnName,
  firstOverlap,
  newPreSharedKey,
  pickTunnelAddresses,
  type VpnConnection,
  type VpnStatus,
} from '../core/vpn.js'
import type { PlatformContext } from './context.js'
import { siteCidrsInUse } from './site-cidrs.js'

/** Heroku's 404 for a connection that is not (any more) there. */
export const vpnNotFound = () => errors.notFound('vpn-connection', 'VPN is not found.')

/** What the operator gave (`--vpn-pool`, `--vpn-max-per-space`). */
export interface VpnHostFacts {
  pools: readonly AddressPool[]
  maxPerSpace: number
}

/** What `spaces:vpn:connect` sends, unchecked. */
export interface NewVpnConnection {
  name: unknown
  publicIp: unknown
  routableCidrs: unknown
  /** An extension: 2 for IKEv2; default 1, as Heroku. */
  ikeVersion?: unknown
}

/** `failed` with the reason when the CIDRs clash with what the space routes already. */
const statusFor = (
  overlap: string | undefined,
  otherwise: VpnStatus,
  otherwiseMessage: string,
): { status: VpnStatus; statusMessage: string } =>
  overlap === undefined
    ? { status: otherwise, statusMessage: otherwiseMessage }
    : { status: 'failed', statusMessage: CIDR_IN_USE }

export function createVpnConnection(
  { store, events }: PlatformContext,
  space: Space,
  wanted: NewVpnConnection,
  host: VpnHostFacts,
): VpnConnection {
  const name = checkVpnName(wanted.name)
  const publicIp = checkCustomerIp(wanted.publicIp)
  const routableCidrs = checkPrivateCidrs(wanted.routableCidrs, 'routable_cidrs')
  const ikeVersion = wanted.ikeVersion === undefined ? 1 : checkIkeVersion(wanted.ikeVersion)
  const now = nowIso()
  // Count, name, addresses and overlap read what the insert depends on: one transaction.
  const created = store.transaction(() => {
    const existing = store.vpn.forSpace(space.id)
    if (existing.length >= host.maxPerSpace) {
      throw errors.invalidParams(
        `Space ${space.name} already has ${existing.length} VPN connection${existing.length === 1 ? '' : 's'}, the most a space may have here. Destroy one first, or ask the operator to raise --vpn-max-per-space.`,
      )
    }
    if (existing.some((c) => c.name === name)) {
      throw errors.invalidParams(`Space ${space.name} already has a VPN connection named ${name}.`)
    }
    // --vpn-pool and --egress-pool never overlap (the daemon refuses that at start).
    const taken = new Set(store.vpn.tunnelAddresses())
    const ips = pickTunnelAddresses(poolFor(host.pools, space.region), space.region, taken)
    const connection: VpnConnection = {
      id: newId(),
      spaceId: space.id,
      name,
      publicIp,
      routableCidrs,
      ikeVersion,
      ...statusFor(firstOverlap(routableCidrs, siteCidrsInUse(store, space)), 'pending', ''),
      tunnels: ips.map((ip, index) => ({
        index: index as 0 | 1,
        ip,
        customerIp: publicIp,
        preSharedKey: newPreSharedKey(),
        status: 'DOWN' as const,
        statusMessage: '',
        lastStatusChange: now,
      })),
      createdAt: now,
      updatedAt: now,
    }
    store.vpn.insert(connection)
    return connection
  })
  events.emit('vpn.changed', space.id)
  return created
}

/**
 * `spaces:vpn:update --cidrs`: the whole list is replaced. A connection that failed on a
 * clash is tried again (`pending`) once its CIDRs are free; one the host has made keeps its
 * status while the host side follows the new CIDRs.
 */
export function updateVpnConnection(
  { store, events }: PlatformContext,
  space: Space,
  connection: VpnConnection,
  routableCidrsInput: unknown,
): VpnConnection {
  const routableCidrs = checkPrivateCidrs(routableCidrsInput, 'routable_cidrs')
  store.transaction(() => {
    const current = store.vpn.get(connection.id)
    if (!current) throw vpnNotFound()
    if (current.status === 'deprovisioning') {
      throw errors.invalidParams(`VPN connection ${current.name} is being destroyed.`)
    }
    const overlap = firstOverlap(routableCidrs, siteCidrsInUse(store, space, { vpnId: current.id }))
    const keep = current.status === 'failed' ? 'pending' : current.status
    const keepMessage = current.status === 'failed' ? '' : current.statusMessage
    store.vpn.update(
      current.id,
      { routableCidrs, ...statusFor(overlap, keep, keepMessage) },
      nowIso(),
    )
  })
  events.emit('vpn.changed', space.id)
  return store.vpn.get(connection.id)!
}

/**
 * `spaces:vpn:destroy`. A connection the host side never took up (`pending`: it marks a
 * connection `provisioning` before it touches the host; `failed`: not on the host) is removed
 * at once, freeing its addresses; any other goes `deprovisioning` until the host side has
 * torn it down and calls `store.vpn.finishDeprovisioning`. Either way, the answer is the
 * connection as it was being deleted, and then it is a 404.
 */
export function destroyVpnConnection(
  { store, events }: PlatformContext,
  space: Space,
  connection: VpnConnection,
): VpnConnection {
  const now = nowIso()
  const deleting = store.transaction(() => {
    const current = store.vpn.get(connection.id)
    if (!current) throw vpnNotFound()
    if (current.status === 'pending' || current.status === 'failed') {
      store.vpn.delete(current.id)
    } else if (current.status !== 'deprovisioning') {
      store.vpn.markDeprovisioning(current.id, now)
    }
    return { ...current, status: 'deprovisioning' as const, statusMessage: '', updatedAt: now }
  })
  events.emit('vpn.changed', space.id)
  return deleting
}
