/**
 * The networks a space already routes somewhere: its own (dyno and data), its VPN
 * connections' routable CIDRs and its live peerings' peer CIDRs. A new VPN or peering may
 * overlap none of them (issue 16: "supplied CIDR block already in use"), because a
 * destination reached two ways is reached neither reliably. Shared by vpn.ts and peerings.ts.
 */
import { peeringHoldsCidrs, type Peering } from '../core/peering.js'
import type { Space } from '../core/types.js'
import type { Store } from '../store/store.js'

/** The CIDRs `viewer` reaches through peering `p`: the peer network's, or the other space's. */
export function peerCidrsFor(store: Store, p: Peering, viewerSpaceId: string): string[] {
  if (p.peerNetworkId !== undefined) return store.peerings.network(p.peerNetworkId)?.cidrs ?? []
  const otherId = p.accepterSpaceId === viewerSpaceId ? p.requesterSpaceId : p.accepterSpaceId
  const other = otherId === undefined ? undefined : store.spaces.find(otherId)
  return other ? [other.cidr] : []
}

/** What a VPN connection or peering of `space` must not overlap; `except` is the one changing. */
export function siteCidrsInUse(
  store: Store,
  space: Space,
  except: { vpnId?: string; pcxId?: string } = {},
): string[] {
  const now = Date.now()
  return [
    space.cidr,
    space.dataCidr,
    ...store.vpn
      .forSpace(space.id)
      .filter((c) => c.id !== except.vpnId && c.status !== 'failed')
      .flatMap((c) => c.routableCidrs),
    ...store.peerings
      .forSpace(space.id)
      .filter((p) => p.id !== except.pcxId && peeringHoldsCidrs(p, now))
      .flatMap((p) => peerCidrsFor(store, p, space.id)),
  ]
}
