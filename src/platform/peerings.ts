/**
 * Peering without AWS (issue 16, docs/design.md §7). A peering is asked for, then accepted by
 * the space asked:
 *  - a peer network (one the operator attached to the host) is offered to a space by the
 *    installation admin, as an AWS account offers its VPC;
 *  - a space asks another space of the installation, naming it by its `vpc_id` (from the
 *    other team's `spaces:peering:info`), as AWS does; it sees `initiating-request`.
 * The space asked sees `pending-acceptance` for 7 days (then `expired`, computed on read);
 * accepting makes it `provisioning`, and the host side makes it `active`
 * (`store.peerings.setObservedStatus`). Destroying it, from either side, makes it `deleted`.
 * CIDRs already routed by a side make it `failed`, at request and again at acceptance.
 */
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import {
  PEERING_REQUEST_TTL_MS,
  checkPeerNetwork,
  newPcxId,
  peeringHoldsCidrs,
  peeringStatusFor,
  vpcIdFor,
  type PeerNetwork,
  type Peering,
} from '../core/peering.js'
import type { Space } from '../core/types.js'
import { firstOverlap } from '../core/vpn.js'
import type { Store } from '../store/store.js'
import type { PlatformContext } from './context.js'
import { siteCidrsInUse } from './site-cidrs.js'

export const peeringNotFound = () => errors.notFound('peering', 'Peering connection not found.')

/** Each space of a peering with the CIDRs the peering brings it. */
function sidesOf(store: Store, p: Peering): Array<{ space: Space; brings: string[] }> {
  const accepter = store.spaces.find(p.accepterSpaceId)!
  if (p.requesterSpaceId === undefined) {
    return [{ space: accepter, brings: store.peerings.network(p.peerNetworkId!)?.cidrs ?? [] }]
  }
  const requester = store.spaces.find(p.requesterSpaceId)!
  return [
    { space: accepter, brings: [requester.cidr] },
    { space: requester, brings: [accepter.cidr] },
  ]
}

/** Whether a side already routes (other than by `p` itself) what `p` would bring it. */
const clashes = (store: Store, p: Peering): boolean =>
  sidesOf(store, p).some(
    ({ space, brings }) =>
      firstOverlap(brings, siteCidrsInUse(store, space, { pcxId: p.id })) !== undefined,
  )

/** A new request, `failed` at once when its CIDRs clash. */
function insertRequest(
  store: Store,
  accepter: Space,
  peer: { requesterSpaceId: string } | { peerNetworkId: string },
): Peering {
  const now = nowIso()
  const p: Peering = {
    id: newPcxId(),
    accepterSpaceId: accepter.id,
    ...peer,
    status: 'pending-acceptance',
    expiresAt: new Date(Date.parse(now) + PEERING_REQUEST_TTL_MS)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z'),
    createdAt: now,
    updatedAt: now,
  }
  if (clashes(store, p)) p.status = 'failed'
  store.peerings.insert(p)
  return p
}

/** The live peering between the two, if one is waiting, being made or made. */
const livePeeringOf = (store: Store, spaceId: string, match: (p: Peering) => boolean) =>
  store.peerings.forSpace(spaceId).find((p) => peeringHoldsCidrs(p) && match(p))

/** The installation admin offers a peer network to a space. */
export function requestNetworkPeering(
  { store, events }: PlatformContext,
  network: PeerNetwork,
  space: Space,
): Peering {
  const peering = store.transaction(() => {
    if (livePeeringOf(store, space.id, (p) => p.peerNetworkId === network.id)) {
      throw errors.invalidParams(`Space ${space.name} is already peered with ${network.name}.`)
    }
    return insertRequest(store, space, { peerNetworkId: network.id })
  })
  events.emit('peering.changed', space.id)
  return peering
}

/** Finds the space with this `vpc_id` (what peering-info shows); 404 when none has it. */
export function spaceByVpcId(store: Store, vpcId: string): Space {
  const space = store.spaces.all().find((s) => vpcIdFor(s.id) === vpcId)
  if (!space) throw errors.notFound('space', `No space has the VPC id ${JSON.stringify(vpcId)}.`)
  return space
}

/** A space asks another space of the installation (an admin of the requester asks). */
export function requestSpacePeering(
  { store, events }: PlatformContext,
  requester: Space,
  accepter: Space,
): Peering {
  if (requester.id === accepter.id) throw errors.invalidParams('A space cannot peer with itself.')
  const peering = store.transaction(() => {
    const other = (p: Peering) =>
      p.requesterSpaceId === accepter.id ||
      (p.accepterSpaceId === accepter.id && p.requesterSpaceId !== undefined)
    if (livePeeringOf(store, requester.id, other)) {
      throw errors.invalidParams(`Space ${requester.name} is already peered with that space.`)
    }
    return insertRequest(store, accepter, { requesterSpaceId: requester.id })
  })
  events.emit('peering.changed', requester.id)
  events.emit('peering.changed', accepter.id)
  return peering
}

/** The spaces of a peering (one, or two for space-to-space), for events. */
const spacesOf = (p: Peering): string[] =>
  p.requesterSpaceId === undefined ? [p.accepterSpaceId] : [p.accepterSpaceId, p.requesterSpaceId]

/** `spaces:peerings:accept`, by an admin of the space asked. */
export function acceptPeering(
  { store, events }: PlatformContext,
  space: Space,
  peering: Peering,
): Peering {
  const accepted = store.transaction(() => {
    const current = store.peerings.get(peering.id)
    if (!current) throw peeringNotFound()
    const status = peeringStatusFor(current, space.id)
    if (current.accepterSpaceId !== space.id) {
      throw errors.invalidParams(
        `Peering ${current.id} was requested by this space: the space asked accepts it.`,
      )
    }
    if (status !== 'pending-acceptance') {
      throw errors.invalidParams(`Peering ${current.id} is ${status} and cannot be accepted.`)
    }
    // What the sides route may have changed since the request.
    store.peerings.setStatus(
      current.id,
      clashes(store, current) ? 'failed' : 'provisioning',
      nowIso(),
    )
    return store.peerings.get(current.id)!
  })
  for (const id of spacesOf(accepted)) events.emit('peering.changed', id)
  return accepted
}

/** `spaces:peerings:destroy`, by an admin of either side: `deleted`, and the host follows. */
export function destroyPeering({ store, events }: PlatformContext, peering: Peering): Peering {
  const deleted = store.transaction(() => {
    const current = store.peerings.get(peering.id)
    if (!current) throw peeringNotFound()
    if (current.status !== 'deleted') store.peerings.setStatus(current.id, 'deleted', nowIso())
    return store.peerings.get(current.id)!
  })
  for (const id of spacesOf(deleted)) events.emit('peering.changed', id)
  return deleted
}

/** `localspace peer-networks:add` (installation admin). */
export function addPeerNetwork(
  { store }: PlatformContext,
  input: { name: unknown; interface: unknown; cidrs: unknown; gateway?: unknown },
): PeerNetwork {
  const checked = checkPeerNetwork(input)
  return store.transaction(() => {
    if (store.peerings.network(checked.name)) {
      throw errors.invalidParams(`A peer network named ${checked.name} exists already.`)
    }
    // Spaces' own networks are the installation's: a peer that claims them routes nowhere.
    const spaceCidrs = store.spaces.all().flatMap((s) => [s.cidr, s.dataCidr])
    const clash = firstOverlap(checked.cidrs, spaceCidrs)
    if (clash) {
      throw errors.invalidParams(`cidrs: ${clash} overlaps a space's network.`)
    }
    const network: PeerNetwork = { id: newId(), ...checked, createdAt: nowIso() }
    store.peerings.insertNetwork(network)
    return network
  })
}

/** `localspace peer-networks:remove`: only once no peering with it is waiting or live. */
export function removePeerNetwork({ store }: PlatformContext, network: PeerNetwork): void {
  store.transaction(() => {
    const live = store.peerings.forNetwork(network.id).filter(peeringHoldsCidrs)
    if (live.length > 0) {
      throw errors.invalidParams(
        `Peer network ${network.name} has peerings (${live.map((p) => p.id).join(', ')}): destroy them first.`,
      )
    }
    store.peerings.deleteNetwork(network.id)
  })
}
