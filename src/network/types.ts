/**
 * The data of the host-network reconciler: what the host should look like (Desired*), what it
 * looks like (Observed*), and the steps between them (HostAction). Plain data, so plans can be
 * compared, logged and written in tables in tests.
 */

/** One space's two bridges (docs/design.md §3): dynos on the dyno bridge, data services on the other. */
export interface DesiredSpaceNetwork {
  /** `lsb-<8hex>` */
  dynoBridge: string
  /** `lsd-<8hex>` */
  dataBridge: string
  /** The space CIDR, e.g. `10.40.0.0/16`. */
  cidr: string
  /** The data CIDR, e.g. `10.41.0.0/16`. */
  dataCidr: string
  /** C.0.1: carried by the dyno bridge, with the space prefix. */
  gateway: string
  /** C.0.3: carried by the dyno bridge, with the space prefix. */
  internalRouter: string
  /** D.0.1: carried by the data bridge, with the data prefix. */
  dataGateway: string
}

/**
 * The common build network (issue 15, B1): one bridge, installation-wide and outside every
 * space, for the builds of apps that have no space. Internet only: its gateway answers DNS
 * and nothing else, its builds never reach one another, the host, a space or a private range.
 */
export interface DesiredBuildNetwork {
  /** `lsc-<8hex>` (names.ts BUILD_BRIDGE) */
  bridge: string
  /** Its network, outside every block a space may use (core/address-plan.ts). */
  cidr: string
  /** Carried by the bridge, with the network's prefix: the builds' route and DNS server. */
  gateway: string
}

/** A dyno's or data service's network: its own namespace, joined to a space bridge by a veth. */
export interface DesiredAttachment {
  /** The dyno or data-service id the names derive from (for messages). */
  id: string
  /** The bridge the host end joins (`lsb-…` for dynos, `lsd-…` for data, `lsc-…` for builds). */
  bridge: string
  /** The address `eth0` carries inside the namespace. */
  address: string
  /** Its prefix length (the bridge network's). */
  prefix: number
  /** The default route inside the namespace. */
  gateway: string
  /** Written as `nameserver` to the namespace's resolv.conf. */
  dns: string
  /** `ls-<8hex>` */
  netns: string
  /** `lsv-<8hex>`, the host end; the namespace end is always `eth0`. */
  veth: string
}

/** The outbound (SNAT) addresses this host holds on its egress interface. */
export interface DesiredEgress {
  /** The host interface the addresses live on, e.g. `eth0`. Never one of ours. */
  iface: string
  /** The outbound addresses of every space, each held as a /32. */
  addresses: readonly string[]
  /**
   * The operator's outbound pools. A /32 inside a pool that is not desired is ours and stale;
   * anything else on the interface belongs to someone else and is never touched.
   */
  poolCidrs: readonly string[]
}

/**
 * A space's VPN gateway (docs/design.md §3, §7): a namespace `lsg-<8hex>` whose `eth0` is on
 * the space's dyno bridge at C.0.4 and whose `ext0` (a second veth, host end `lsx-<8hex>`)
 * carries the space's tunnel addresses. charon (src/vpn) runs inside it and adds the tunnel
 * routes; everything else here is the network module's. Make one with `desiredVpnGateway`.
 */
export interface DesiredVpnGateway {
  /** `lsg-<8hex>` of the space id (names.ts `vpnGatewayNetnsName`): where charon runs. */
  netns: string
  /** `lsg-<8hex>`: the host end of `eth0`, a port of the dyno bridge. */
  port: string
  /** `lsx-<8hex>`: the host end of `ext0`. */
  ext: string
  /** The space's `lsb-<8hex>`. */
  dynoBridge: string
  /** The space CIDR C. */
  cidr: string
  /** C.0.4, on `eth0`. */
  address: string
  /** C.0.1: the space's DNS server, which the remote networks may ask (UDP and TCP 53). */
  dns: string
  /** C.0.3: the internal router, which the remote networks reach on 80 and 443. */
  internalRouter: string
  /** The dyno ranges (C.128.0/20, …): the remote networks reach them on any port. */
  dynoRanges: readonly string[]
  /** The space's tunnel addresses (from `--vpn-pool`), /32s on `ext0`; two per connection. */
  tunnelAddresses: readonly string[]
  /** The routable CIDRs of every VPN connection of the space. */
  remoteCidrs: readonly string[]
}

/**
 * The tunnel addresses' side of the host: the operator's `--vpn-pool` CIDRs, and the
 * interface the host answers ARP on for the tunnel addresses in them (proxy entries).
 */
export interface DesiredVpnPool {
  /** The egress interface; undefined: no proxy entries (the operator routes the pool here). */
  iface?: string
  /** A proxy entry inside a pool that is not desired is ours and stale. */
  poolCidrs: readonly string[]
}

/**
 * An operator-attached network (`localspace peer-networks:add`) peered with one space: the
 * space reaches `cidrs` through `iface` (via `gateway` when given); the network reaches only
 * the space's internal router, on 80 and 443.
 */
export interface DesiredPeerNetwork {
  /** The peering's space: its dyno bridge, CIDR and internal router. */
  dynoBridge: string
  cidr: string
  internalRouter: string
  /** The operator's interface (never one of localspace's). */
  iface: string
  cidrs: readonly string[]
  gateway?: string
}

/** One side of a space-to-space peering. */
export interface PeeredSpace {
  dynoBridge: string
  internalRouter: string
}

/**
 * Two spaces of the installation peered with each other: each side's dynos reach the other's
 * internal router (C.0.3, 80 and 443) and nothing else of it. Their networks are unique in
 * the installation, so no route is needed: the host holds both.
 */
export interface DesiredSpacePeering {
  a: PeeredSpace
  b: PeeredSpace
}

export interface DesiredHost {
  spaces: readonly DesiredSpaceNetwork[]
  attachments: readonly DesiredAttachment[]
  /** The common build network; absent where nothing builds (tests of spaces alone). */
  buildNetwork?: DesiredBuildNetwork
  egress?: DesiredEgress
  /**
   * Namespaces made ahead of need (warm-pool.ts) and their host veths: owned, on no bridge
   * yet, and left alone (neither leftovers nor damage).
   */
  prepared?: { netns: ReadonlySet<string>; links: ReadonlySet<string> }
  /** VPN gateways, one per space that has a VPN connection (vpn-gateway.ts). */
  vpnGateways?: readonly DesiredVpnGateway[]
  /** Where tunnel addresses are answered; needed to sweep stale proxy entries. */
  vpnPool?: DesiredVpnPool
  /** Operator-attached networks peered with spaces. */
  peerNetworks?: readonly DesiredPeerNetwork[]
}

export interface ObservedAddress {
  address: string
  prefix: number
}

export interface ObservedLink {
  name: string
  /** `linkinfo.info_kind` (`bridge`, `veth`, …); undefined for plain devices such as `lo`. */
  kind?: string
  /** The bridge this link is a port of. */
  master?: string
  /** Administratively up (the `UP` flag, not the carrier). */
  up: boolean
  /** The link-layer address (`aa:bb:…`), when it has one. */
  mac?: string
  /** The name is one localspace owns (names.ts); only owned links are ever deleted. */
  owned: boolean
  /** IPv4 addresses only. */
  addresses: readonly ObservedAddress[]
}

export interface ObservedHost {
  links: readonly ObservedLink[]
  /** Every named network namespace (`ip netns list`), ours or not. */
  netns: readonly string[]
}

/**
 * One step of a plan. Apply runs them in three stages, whatever their order in the list:
 * teardown (detach, link.delete, netns.delete, addr.remove), build (bridge.create, link.mac,
 * link.up, addr.add, veth.plug), then attach.
 */
export type HostAction =
  | { kind: 'detach'; netns: string; veth: string; reason: string }
  | { kind: 'link.delete'; name: string }
  | { kind: 'netns.delete'; name: string }
  | { kind: 'addr.remove'; dev: string; address: string; prefix: number }
  | { kind: 'bridge.create'; name: string; mac: string }
  /** A bridge whose MAC is not the one derived from its gateway address (names.ts `macFor`). */
  | { kind: 'link.mac'; name: string; mac: string }
  | { kind: 'link.up'; name: string }
  | { kind: 'addr.add'; dev: string; address: string; prefix: number }
  | { kind: 'attach'; attachment: DesiredAttachment }
  /** A whole namespace whose host veth fell off its bridge (the bridge was re-made): re-plug it. */
  | { kind: 'veth.plug'; veth: string; bridge: string }

/** Where attach writes resolv.conf and apply writes sysctls; tests point them at a temp dir. */
export interface HostPaths {
  /** Default `/etc/netns` (what `ip netns exec` bind-mounts from). */
  etcNetns?: string
  /** Default `/proc/sys/net/ipv4/conf`. */
  ipv4Conf?: string
  /** Default `/proc/sys/net/ipv4/neigh`. */
  ipv4Neigh?: string
}
