/**
 * Peering without AWS (docs/design.md §7, issue 16): a space is joined to a network the
 * operator attached to the host (a peer network) or to another space of the installation.
 * The words are Heroku's (`pcx-…` ids, `pending-acceptance`, `vpc_id`), so `heroku
 * spaces:peerings*` work unchanged.
 */
import { createHash, randomBytes } from 'node:crypto'
import { parseIpv4 } from './cidr.js'
import { errors } from './errors.js'
import { checkPrivateCidrs } from './vpn.js'

/** What is stored; `expired` and `initiating-request` are how a reader sees some of them. */
export type StoredPeeringStatus =
  'pending-acceptance' | 'provisioning' | 'active' | 'failed' | 'deleted'
/** Heroku's peering states (schema `peering.status`) that localspace uses. */
export type PeeringStatus = StoredPeeringStatus | 'initiating-request' | 'expired'

/** A network the operator attached to the host (`localspace peer-networks:add`). */
export interface PeerNetwork {
  id: string
  name: string
  /** The host interface it is reached by: a NIC, a VLAN, a bridge, a WireGuard link. */
  interface: string
  cidrs: string[]
  /** The next hop on that interface; absent: the CIDRs are on the link itself. */
  gateway?: string
  createdAt: string
}

/**
 * One peering. `accepterSpaceId` is the space asked to accept; the peer is either a peer
 * network (`peerNetworkId`, requested by the installation admin) or the space that asked
 * (`requesterSpaceId`, space-to-space). One row serves both spaces of a space-to-space peering.
 */
export interface Peering {
  id: string
  accepterSpaceId: string
  requesterSpaceId?: string
  peerNetworkId?: string
  status: StoredPeeringStatus
  expiresAt: string
  createdAt: string
  updatedAt: string
}

/** A request not accepted within 7 days expires, as on AWS. */
export const PEERING_REQUEST_TTL_MS = 7 * 24 * 3600 * 1000

/** `pcx-` and 17 hex digits, the form of an AWS peering connection id. */
export const newPcxId = (): string => `pcx-${randomBytes(9).toString('hex').slice(0, 17)}`

/** A space's stable `vpc_id`: derived, so it needs no column and never changes. */
export const vpcIdFor = (spaceId: string): string =>
  `vpc-${createHash('sha256').update(`space:${spaceId}`).digest('hex').slice(0, 17)}`

/** A peer network's `vpc_id`, by the same rule. */
export const peerNetworkVpcId = (networkId: string): string =>
  `vpc-${createHash('sha256').update(`peer-network:${networkId}`).digest('hex').slice(0, 17)}`

/** Whether a request is still waiting; an expired one is not (computed on read, never swept). */
const waiting = (p: Peering, now: number): boolean =>
  p.status === 'pending-acceptance' && Date.parse(p.expiresAt) > now

/**
 * The status `viewerSpaceId` sees: the requester sees its waiting request as
 * `initiating-request`; a request past its expiry is `expired` for both.
 */
export function peeringStatusFor(
  p: Peering,
  viewerSpaceId: string,
  now = Date.now(),
): PeeringStatus {
  if (p.status === 'pending-acceptance') {
    if (!waiting(p, now)) return 'expired'
    return viewerSpaceId === p.requesterSpaceId ? 'initiating-request' : 'pending-acceptance'
  }
  return p.status
}

/** A peering whose CIDRs are taken: waiting, being made, or made. */
export const peeringHoldsCidrs = (p: Peering, now = Date.now()): boolean =>
  waiting(p, now) || p.status === 'provisioning' || p.status === 'active'

/** What the host side makes: accepted and not yet removed. */
export const peeringWanted = (p: Peering): boolean =>
  p.status === 'provisioning' || p.status === 'active'

const PEER_NETWORK_NAME = /^[a-z0-9][a-z0-9-]{0,29}$/
const INTERFACE_NAME = /^[\w.:-]{1,15}$/

/** Validates what `peer-networks:add` gives; 422 naming the field. */
export function checkPeerNetwork(input: {
  name: unknown
  interface: unknown
  cidrs: unknown
  gateway?: unknown
}): { name: string; interface: string; cidrs: string[]; gateway?: string } {
  const { name, interface: iface, cidrs, gateway } = input
  if (typeof name !== 'string' || !PEER_NETWORK_NAME.test(name)) {
    throw errors.invalidParams(
      `name must be 1 to 30 lowercase letters, digits and dashes (got ${JSON.stringify(name)}).`,
    )
  }
  if (typeof iface !== 'string' || !INTERFACE_NAME.test(iface)) {
    throw errors.invalidParams(
      `interface must be an interface name (got ${JSON.stringify(iface)}).`,
    )
  }
  const checked = checkPrivateCidrs(cidrs, 'cidrs')
  if (gateway !== undefined && (typeof gateway !== 'string' || parseIpv4(gateway) === undefined)) {
    throw errors.invalidParams(`gateway must be an IPv4 address (got ${JSON.stringify(gateway)}).`)
  }
  return {
    name,
    interface: iface,
    cidrs: checked,
    ...(gateway !== undefined && { gateway }),
  }
}
