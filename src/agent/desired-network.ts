/**
 * Desired host networking, derived from the store's desired state. Pure: records in,
 * the planner's and the firewall renderer's inputs out.
 */
import { parseCidr } from '../core/cidr.js'
import { buildNetworkAddresses, spaceAddresses } from '../core/address-plan.js'
import type { Addon } from '../core/addons.js'
import type { Attachment, Space } from '../core/types.js'
import {
  BUILD_BRIDGE,
  dataBridgeName,
  dynoBridgeName,
  netnsName,
  vethName,
} from '../network/names.js'
import type { DataReplicationPath, FirewallState } from '../network/nft/render.js'
import type {
  DesiredAttachment,
  DesiredBuildNetwork,
  DesiredHost,
  DesiredPeerNetwork,
  DesiredSpaceNetwork,
  DesiredSpacePeering,
  DesiredVpnGateway,
} from '../network/types.js'
import { desiredVpnGateway } from '../network/vpn-gateway.js'
import type { DesiredSiteToSite } from '../store/site-to-site.js'

export interface NetworkSettings {
  egressInterface?: string
  /** The operator's pools, by CIDR text (`--egress-pool`), whatever their region. */
  egressPoolCidrs: readonly string[]
  allowPrivate: readonly string[]
  routerListeners: ReadonlyArray<{ address: string; port: number }>
  /**
   * The common build network's CIDR (core/address-plan.ts BUILD_NETWORK_CIDR), where builds
   * of apps outside a space run; absent: no such network (tests of spaces alone).
   */
  buildNetworkCidr?: string
  /**
   * The operator's VPN pools (`--vpn-pool`), by CIDR text: tunnel addresses are answered for
   * (proxy ARP) on the egress interface, and stale proxy entries inside them are swept.
   */
  vpnPoolCidrs?: readonly string[]
}

/** A build's namespace on the common build network; held in memory by the network agent. */
export interface BuildAttachment {
  id: string
  address: string
  /** The build that holds it. */
  owner: string
}

export interface DesiredNetwork {
  host: DesiredHost
  firewall: FirewallState
  /**
   * The states this desired state was made from (id → state), so the agent moves on exactly
   * these records, and none that changed while the host was being converged.
   */
  spaceStates: Map<string, Space['state']>
  attachmentStates: Map<string, Attachment['state']>
}

/** An attachment's namespace: on the dyno or data bridge of its space, named by its id. */
export function desiredAttachment(space: Space, a: Attachment): DesiredAttachment {
  const plan = spaceAddresses(space.cidr, space.dataCidr)
  const dyno = a.kind === 'dyno'
  return {
    id: a.id,
    bridge: dyno ? dynoBridgeName(space.id) : dataBridgeName(space.id),
    address: a.address,
    prefix: dyno ? plan.cidr.prefix : plan.dataCidr.prefix,
    gateway: dyno ? plan.gateway : plan.dataGateway,
    dns: plan.gateway,
    netns: netnsName(a.id),
    veth: vethName(a.id),
  }
}

/** The common build network of `cidr`: its bridge and gateway. */
export function desiredBuildNetwork(cidr: string): DesiredBuildNetwork {
  return { bridge: BUILD_BRIDGE, cidr, gateway: buildNetworkAddresses(cidr).gateway }
}

/** A build's namespace on the build network; its gateway is its DNS server too. */
export function desiredBuildAttachment(
  net: DesiredBuildNetwork,
  a: BuildAttachment,
): DesiredAttachment {
  return {
    id: a.id,
    bridge: net.bridge,
    address: a.address,
    prefix: buildNetworkAddresses(net.cidr).cidr.prefix,
    gateway: net.gateway,
    dns: net.gateway,
    netns: netnsName(a.id),
    veth: vethName(a.id),
  }
}

/** What the spaces' VPN connections and peerings ask of the host's networking. */
interface SiteToSiteNetwork {
  vpnGateways: DesiredVpnGateway[]
  peerNetworks: DesiredPeerNetwork[]
  spacePeerings: DesiredSpacePeering[]
}

/**
 * A space has a VPN gateway while it has a connection the host side took on (`provisioning`,
 * `active`) or one still being torn down (`deprovisioning`): charon runs in the gateway's
 * namespace and must be stopped before the namespace goes (agent/vpn-agent.ts stops it, then
 * finishes the deprovisioning, and only then is the gateway no longer desired). A `pending`
 * connection is not the host's yet: the VPN agent marks it `provisioning` first.
 */
export function desiredSiteToSite(
  spaces: readonly Space[],
  siteToSite: readonly DesiredSiteToSite[],
): SiteToSiteNetwork {
  const bySpace = new Map(spaces.map((s) => [s.id, s]))
  const result: SiteToSiteNetwork = { vpnGateways: [], peerNetworks: [], spacePeerings: [] }
  const pairs = new Set<string>()
  for (const s2s of siteToSite) {
    const space = bySpace.get(s2s.spaceId)
    if (!space) continue
    const taken = s2s.vpnConnections.filter((c) => c.status !== 'pending')
    if (taken.length > 0 || s2s.deprovisioning.length > 0) {
      result.vpnGateways.push(
        desiredVpnGateway(
          space,
          taken.flatMap((c) => c.tunnels.map((t) => t.ip)),
          taken.flatMap((c) => c.routableCidrs),
        ),
      )
    }
    const plan = spaceAddresses(space.cidr, space.dataCidr)
    for (const p of s2s.peerings) {
      if (p.peer.kind === 'network') {
        result.peerNetworks.push({
          dynoBridge: dynoBridgeName(space.id),
          cidr: space.cidr,
          internalRouter: plan.internalRouter,
          iface: p.peer.interface,
          cidrs: p.peerCidrs,
          ...(p.peer.gateway !== undefined && { gateway: p.peer.gateway }),
        })
        continue
      }
      // Both spaces list a space-to-space peering; the host needs it once.
      const other = bySpace.get(p.peer.spaceId)
      if (!other || pairs.has(p.pcxId)) continue
      pairs.add(p.pcxId)
      const peerPlan = spaceAddresses(other.cidr, other.dataCidr)
      result.spacePeerings.push({
        a: { dynoBridge: dynoBridgeName(space.id), internalRouter: plan.internalRouter },
        b: { dynoBridge: dynoBridgeName(other.id), internalRouter: peerPlan.internalRouter },
      })
    }
  }
  return result
}

/**
 * Postgres followers whose leader is in another space: the firewall opens the follower's
 * server → the leader's replication port, and only that (docs/design.md §4). Followers in
 * their leader's space reach it on their own data bridge.
 */
export function dataReplicationPaths(
  addons: ReadonlyArray<Pick<Addon, 'id' | 'spaceId' | 'host' | 'port' | 'leaderId' | 'state'>>,
): DataReplicationPath[] {
  const live = (a: { state: Addon['state'] }) =>
    a.state === 'provisioning' || a.state === 'provisioned'
  const byId = new Map(addons.filter(live).map((a) => [a.id, a]))
  return [...byId.values()].flatMap((f) => {
    const leader = f.leaderId === null ? undefined : byId.get(f.leaderId)
    if (!leader || leader.spaceId === f.spaceId) return []
    return [{ follower: f.host, leader: leader.host, port: leader.port }]
  })
}

/** Spaces being deleted and attachments being detached are simply not desired any more. */
export function desiredNetwork(
  spaces: readonly Space[],
  attachments: readonly Attachment[],
  egressOf: (spaceId: string) => readonly string[],
  settings: NetworkSettings,
  builds: readonly BuildAttachment[] = [],
  siteToSite: readonly DesiredSiteToSite[] = [],
  dataReplication: readonly DataReplicationPath[] = [],
): DesiredNetwork {
  const live = spaces.filter((s) => s.state !== 'deleting')
  const bySpace = new Map(live.map((s) => [s.id, s]))
  const hostSpaces: DesiredSpaceNetwork[] = live.map((s) => {
    const plan = spaceAddresses(s.cidr, s.dataCidr)
    return {
      dynoBridge: dynoBridgeName(s.id),
      dataBridge: dataBridgeName(s.id),
      cidr: s.cidr,
      dataCidr: s.dataCidr,
      gateway: plan.gateway,
      internalRouter: plan.internalRouter,
      dataGateway: plan.dataGateway,
    }
  })
  const liveAttachments = attachments.filter(
    (a) => a.state !== 'detaching' && bySpace.has(a.spaceId),
  )
  const buildNetwork =
    settings.buildNetworkCidr === undefined
      ? undefined
      : desiredBuildNetwork(settings.buildNetworkCidr)
  const hostAttachments = [
    ...liveAttachments.map((a) => desiredAttachment(bySpace.get(a.spaceId)!, a)),
    ...(buildNetwork ? builds.map((b) => desiredBuildAttachment(buildNetwork, b)) : []),
  ]
  const egress = live.flatMap((s) => egressOf(s.id))
  const s2s = desiredSiteToSite(live, siteToSite)
  const vpnPoolCidrs = (settings.vpnPoolCidrs ?? []).filter((c) => parseCidr(c) !== undefined)
  const host: DesiredHost = {
    spaces: hostSpaces,
    attachments: hostAttachments,
    ...(buildNetwork && { buildNetwork }),
    ...(settings.egressInterface !== undefined && {
      egress: {
        iface: settings.egressInterface,
        addresses: egress,
        poolCidrs: settings.egressPoolCidrs.filter((c) => parseCidr(c) !== undefined),
      },
    }),
    vpnGateways: s2s.vpnGateways,
    peerNetworks: s2s.peerNetworks,
    ...(vpnPoolCidrs.length > 0 && {
      vpnPool: {
        ...(settings.egressInterface !== undefined && { iface: settings.egressInterface }),
        poolCidrs: vpnPoolCidrs,
      },
    }),
  }
  const firewall: FirewallState = {
    spaces: live.map((s, i) => {
      const { dataGateway, ...bridges } = hostSpaces[i]! // the firewall needs no data gateway
      return { ...bridges, egress: egressOf(s.id) }
    }),
    attachments: hostAttachments.map((a) => ({ veth: a.veth, address: a.address })),
    routerListeners: settings.routerListeners,
    ...(settings.egressInterface !== undefined && { egressInterface: settings.egressInterface }),
    allowedPrivate: settings.allowPrivate,
    ...(buildNetwork && { buildNetwork }),
    vpnGateways: s2s.vpnGateways,
    peerNetworks: s2s.peerNetworks,
    spacePeerings: s2s.spacePeerings,
    ...(dataReplication.length > 0 && { dataReplication }),
  }
  return {
    host,
    firewall,
    spaceStates: new Map(spaces.map((s) => [s.id, s.state])),
    attachmentStates: new Map(attachments.map((a) => [a.id, a.state])),
  }
}
