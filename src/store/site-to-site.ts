/**
 * What the host side should make of a space's VPN connections and peerings, in one read:
 * the seam between the control plane (src/platform/vpn.ts, peerings.ts) and the VPN and
 * gateway code that converges the host. Anything on the host that is not here goes.
 */
import { peeringWanted } from '../core/peering.js'
import type { VpnConnection } from '../core/vpn.js'
import type { Store } from './store.js'

export interface DesiredPeering {
  pcxId: string
  status: 'provisioning' | 'active'
  /** The networks this space reaches through the peering. */
  peerCidrs: string[]
  peer:
    | { kind: 'network'; name: string; interface: string; gateway?: string }
    | { kind: 'space'; spaceId: string }
}

export interface DesiredSiteToSite {
  spaceId: string
  region: string
  /** The space's dyno network, the far side's remote traffic selector. */
  spaceCidr: string
  dataCidr: string
  /**
   * Connections to have on the host (`pending`, `provisioning`, `active`), PSKs included.
   * Before touching the host for a `pending` one, mark it with
   * `store.vpn.setConnectionStatus(id, 'provisioning', …)` and go on only if that returns
   * true: the platform removes a `pending` connection at once when its user destroys it.
   */
  vpnConnections: VpnConnection[]
  /**
   * Connections the user deleted: tear down what is left of them on the host, then call
   * `store.vpn.finishDeprovisioning(id)`, which removes them and frees their addresses.
   */
  deprovisioning: string[]
  /** Accepted peerings (`provisioning`, `active`), from this space's side. */
  peerings: DesiredPeering[]
}

/** Undefined when the space does not exist (any more): everything of it goes. */
export function readSiteToSite(store: Store, spaceId: string): DesiredSiteToSite | undefined {
  const space = store.spaces.find(spaceId)
  if (!space) return undefined
  const connections = store.vpn.forSpace(space.id)
  const peerings: DesiredPeering[] = []
  for (const p of store.peerings.forSpace(space.id)) {
    if (!peeringWanted(p)) continue
    const status = p.status as DesiredPeering['status']
    if (p.peerNetworkId !== undefined) {
      const n = store.peerings.network(p.peerNetworkId)
      if (!n) continue
      peerings.push({
        pcxId: p.id,
        status,
        peerCidrs: n.cidrs,
        peer: {
          kind: 'network',
          name: n.name,
          interface: n.interface,
          ...(n.gateway !== undefined && { gateway: n.gateway }),
        },
      })
    } else {
      const otherId = p.accepterSpaceId === space.id ? p.requesterSpaceId! : p.accepterSpaceId
      const other = store.spaces.find(otherId)
      if (!other) continue
      peerings.push({
        pcxId: p.id,
        status,
        peerCidrs: [other.cidr],
        peer: { kind: 'space', spaceId: other.id },
      })
    }
  }
  return {
    spaceId: space.id,
    region: space.region,
    spaceCidr: space.cidr,
    dataCidr: space.dataCidr,
    vpnConnections: connections.filter((c) =>
      ['pending', 'provisioning', 'active'].includes(c.status),
    ),
    deprovisioning: connections.filter((c) => c.status === 'deprovisioning').map((c) => c.id),
    peerings,
  }
}

/**
 * The networks on the far side of a space's VPN connections the host has taken on
 * (`provisioning`, `active`): the space's internal router and DNS server answer them.
 */
export const vpnRemoteCidrs = (s2s: DesiredSiteToSite): string[] =>
  s2s.vpnConnections.filter((c) => c.status !== 'pending').flatMap((c) => c.routableCidrs)

/**
 * Every source the space's internal listener (C.0.3) admits besides the space itself: its
 * VPN remotes and its accepted peers (operator networks, peered spaces' dyno networks).
 */
export const internalRouterSources = (s2s: DesiredSiteToSite): string[] => [
  ...vpnRemoteCidrs(s2s),
  ...s2s.peerings.flatMap((p) => p.peerCidrs),
]
