/**
 * Renders localspace's whole firewall from desired state (docs/design.md §4, the truth table).
 * Pure: the same state gives the same text, so a reconcile can compare and re-apply it.
 *
 * Two tables, both owned whole by localspace:
 * - `inet localspace` judges routed traffic: what dynos may reach on the host (input), what
 *   crosses between networks or leaves for the internet (forward), and the source NAT that
 *   gives each space its stable outbound addresses (postrouting).
 * - `bridge localspace` stops spoofing where frames enter a space bridge: a dyno may send only
 *   from the address it was given, whatever it does as root inside its namespace.
 * Per-dyno facts live in sets, so the rule count grows with spaces, never with dynos.
 */
import { NFT_TABLE } from '../names.js'
import type {
  DesiredBuildNetwork,
  DesiredPeerNetwork,
  DesiredSpaceNetwork,
  DesiredSpacePeering,
  DesiredVpnGateway,
} from '../types.js'

export type FirewallSpace = Omit<DesiredSpaceNetwork, 'dataGateway'> & {
  /** Outbound source addresses; empty means masquerade to the host's own address. */
  egress: readonly string[]
}

export interface FirewallAttachment {
  veth: string
  address: string
}

export interface FirewallState {
  spaces: readonly FirewallSpace[]
  attachments: readonly FirewallAttachment[]
  /** Host addresses and ports of the public router, which dynos may call (`0.0.0.0` = any). */
  routerListeners: ReadonlyArray<{ address: string; port: number }>
  /** Where traffic to the internet leaves; undefined = any interface that is not ours. */
  egressInterface?: string
  /** Private ranges outside the installation that the operator lets dynos reach. */
  allowedPrivate: readonly string[]
  /**
   * The common build network: its builds are treated as dynos of a space that has no
   * neighbours (DNS on its gateway, the internet, allowed private ranges; never the router's
   * listeners, the host, a space or one another), and leave masqueraded to the host's address.
   */
  buildNetwork?: DesiredBuildNetwork
  /**
   * VPN gateways (DesiredHost.vpnGateways): each space's dynos reach its remote CIDRs through
   * its gateway, and the gateway's bridge port may send from them. Part of the settings: a
   * change replaces both tables whole (VPNs change rarely; dynos often).
   */
  vpnGateways?: readonly DesiredVpnGateway[]
  /** Operator-attached networks peered with spaces (DesiredHost.peerNetworks). */
  peerNetworks?: readonly DesiredPeerNetwork[]
  /** Space-to-space peerings: each side's dynos reach the other's internal router. */
  spacePeerings?: readonly DesiredSpacePeering[]
  /**
   * Postgres followers in another space: the follower's server reaches its leader's
   * replication port, and nothing else crosses between data networks (docs/design.md §4).
   */
  dataReplication?: readonly DataReplicationPath[]
}

/** One follower server → leader server path (addresses on two spaces' data networks). */
export interface DataReplicationPath {
  follower: string
  leader: string
  port: number
}

/** Private and reserved ranges that dynos never reach unless allowed (docs/design.md §4). */
export const RESERVED_RANGES = [
  '10.0.0.0/8',
  '100.64.0.0/10',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
] as const

export const DNS_PORT = 53
export const INTERNAL_ROUTER_PORTS = [80, 443] as const

const q = (name: string) => `"${name}"`

/** Fixed, so an outbound address stays with its dyno across reloads ("ls" in ASCII). */
const JHASH_SEED = '0x6c73'

/** `elements = { … }` for a non-empty list; nothing for an empty one (nft refuses `{ }`). */
function elements(items: readonly string[]): string {
  return items.length === 0 ? '' : `\n    elements = { ${items.join(',\n                 ')} }`
}

function set(name: string, type: string, items: readonly string[], interval = false): string {
  return `  set ${name} {\n    type ${type}${interval ? '\n    flags interval' : ''}${elements(items)}\n  }`
}

/**
 * A space's own chain: its source NAT, jumped to from `postrouting` through the `snat_spaces`
 * map (space CIDR → jump). One chain per space, named after its bridge's short id, so that a
 * space comes and goes as a few elements and a chain (`renderDelta`) while the rules stay.
 */
export const snatChain = (space: FirewallSpace): string => `snat-${space.dynoBridge.slice(4)}`

function snatStatement(space: FirewallSpace): string {
  if (space.egress.length === 0) return 'masquerade'
  if (space.egress.length === 1) return `snat ip to ${space.egress[0]}`
  // A hash of the source address picks the outbound address: a dyno keeps the same one. The
  // seed is fixed: without one the kernel draws a new one at every load of the table, and
  // dynos would change address at each daemon restart or space change.
  const map = space.egress.map((ip, i) => `${i} : ${ip}`).join(', ')
  return `snat ip to jhash ip saddr mod ${space.egress.length} seed ${JHASH_SEED} map { ${map} }`
}

/** The sets of the inet table that hold per-space elements, in the order they are declared. */
const SPACE_SETS = [
  'same_bridge',
  'dyno_to_data',
  'host_services',
  'space_nets',
  'snat_spaces',
] as const
type SpaceSet = (typeof SPACE_SETS)[number]

/** The internal router's ports on `router`, for packets entering on `iface`. */
const internalRouterServices = (iface: string, router: string) =>
  INTERNAL_ROUTER_PORTS.map((p) => `${q(iface)} . ${router} . tcp . ${p}`)

/** What one space puts in each of those sets. */
function spaceElements(s: FirewallSpace): Record<SpaceSet, string[]> {
  return {
    same_bridge: [`${q(s.dynoBridge)} . ${q(s.dynoBridge)}`],
    dyno_to_data: [`${q(s.dynoBridge)} . ${q(s.dataBridge)}`],
    host_services: [
      `${q(s.dynoBridge)} . ${s.gateway} . udp . ${DNS_PORT}`,
      `${q(s.dynoBridge)} . ${s.gateway} . tcp . ${DNS_PORT}`,
      ...internalRouterServices(s.dynoBridge, s.internalRouter),
    ],
    space_nets: [s.cidr, s.dataCidr],
    snat_spaces: [`${s.cidr} : jump ${snatChain(s)}`],
  }
}

const allElements = (spaces: readonly FirewallSpace[], name: SpaceSet) =>
  spaces.flatMap((s) => spaceElements(s)[name])

/** Space-to-space peerings: both ways, the internal router of the other side only. */
const peeringServices = (peerings: readonly DesiredSpacePeering[] = []) =>
  peerings.flatMap(({ a, b }) => [
    ...internalRouterServices(a.dynoBridge, b.internalRouter),
    ...internalRouterServices(b.dynoBridge, a.internalRouter),
  ])

/**
 * `iifname . daddr . oifname`: the private ranges a space reaches through its own VPN
 * gateway (hairpinned on its bridge) or its peer networks' interfaces, and only there — the
 * one exception to "no private ranges outside the installation" (docs/design.md §4).
 */
const spaceRoutes = (state: FirewallState) => [
  ...(state.vpnGateways ?? []).flatMap((g) =>
    g.remoteCidrs.map((c) => `${q(g.dynoBridge)} . ${c} . ${q(g.dynoBridge)}`),
  ),
  ...(state.peerNetworks ?? []).flatMap((p) =>
    p.cidrs.map((c) => `${q(p.dynoBridge)} . ${c} . ${q(p.iface)}`),
  ),
]

/** `iifname . saddr . daddr . proto . port`: a peer network reaches its space's internal router. */
const peerServices = (peers: readonly DesiredPeerNetwork[] = []) =>
  peers.flatMap((p) =>
    p.cidrs.flatMap((c) =>
      INTERNAL_ROUTER_PORTS.map(
        (port) => `${q(p.iface)} . ${c} . ${p.internalRouter} . tcp . ${port}`,
      ),
    ),
  )

/** The build network's DNS on its gateway: the one host service its builds may reach. */
const buildServices = (net: DesiredBuildNetwork | undefined) =>
  net
    ? (['udp', 'tcp'] as const).map((p) => `${q(net.bridge)} . ${net.gateway} . ${p} . ${DNS_PORT}`)
    : []

/**
 * Interfaces whose traffic the firewall judges as a dyno's: space dyno bridges (`lsb-`) and
 * the build network's (`lsc-`). Only `lsb-` may reach the router's listeners.
 */
const DYNO_SIDE = '{ "lsb-*", "lsc-*" }'
const OURS = '{ "lsb-*", "lsc-*", "lsd-*" }'

export function renderInetTable(state: FirewallState): string {
  const egressMatch =
    state.egressInterface === undefined ? 'oifname != "ls*"' : `oifname ${q(state.egressInterface)}`
  const listeners = state.routerListeners.map(
    (l) => `${l.address === '0.0.0.0' ? '0.0.0.0/0' : l.address} . ${l.port}`,
  )
  const snatChains = state.spaces.map(
    (s) => `  chain ${snatChain(s)} {\n    ${snatStatement(s)}\n  }\n\n`,
  )
  const build = state.buildNetwork
  // Before the spaces' map: the build network is in no space, and leaves as the host.
  const buildSnat = build ? `${egressMatch} ip saddr ${build.cidr} masquerade\n    ` : ''
  return `table inet ${NFT_TABLE} {
${set('same_bridge', 'ifname . ifname', allElements(state.spaces, 'same_bridge'))}
${set('dyno_to_data', 'ifname . ifname', allElements(state.spaces, 'dyno_to_data'))}
${set('host_services', 'ifname . ipv4_addr . inet_proto . inet_service', [
  ...buildServices(build),
  ...allElements(state.spaces, 'host_services'),
  ...peeringServices(state.spacePeerings),
])}
${set('space_routes', 'ifname . ipv4_addr . ifname', spaceRoutes(state), true)}
${set('peer_services', 'ifname . ipv4_addr . ipv4_addr . inet_proto . inet_service', peerServices(state.peerNetworks), true)}
${set(
  'data_replication',
  'ipv4_addr . ipv4_addr . inet_service',
  (state.dataReplication ?? []).map((r) => `${r.follower} . ${r.leader} . ${r.port}`),
)}
${set('router_listeners', 'ipv4_addr . inet_service', listeners, true)}
${set('space_nets', 'ipv4_addr', [...(build ? [build.cidr] : []), ...allElements(state.spaces, 'space_nets')], true)}
${set('reserved', 'ipv4_addr', [...RESERVED_RANGES], true)}
${set('allowed_private', 'ipv4_addr', state.allowedPrivate, true)}
  map snat_spaces {
    type ipv4_addr : verdict
    flags interval${elements(allElements(state.spaces, 'snat_spaces'))}
  }

  chain input {
    type filter hook input priority filter; policy accept;
    # A peer network reaches its space's internal router, and nothing else of the host.
    iifname . ip saddr . ip daddr . meta l4proto . th dport @peer_services accept
    # A space's host addresses (C.0.1 DNS, C.0.3 internal router) and the build network's
    # gateway answer only inside it; the host's own connections to them arrive on lo.
    iifname != { "lo", "lsb-*", "lsc-*", "lsd-*" } ip daddr @space_nets counter drop
    iifname ${DYNO_SIDE} ct state established,related accept
    iifname ${DYNO_SIDE} iifname . ip daddr . meta l4proto . th dport @host_services accept
    iifname "lsb-*" meta l4proto tcp ip daddr . th dport @router_listeners accept
    iifname "lsd-*" ct state established,related accept
    iifname ${OURS} counter drop
    # VPN gateways' outer veths carry IKE and ESP to and from the world, never to the host.
    iifname "lsx-*" counter drop
  }

  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname ${OURS} ct state established,related accept
    oifname ${OURS} ct state established,related accept
    iifname . oifname @same_bridge accept
    iifname . oifname @dyno_to_data accept
    iifname . ip daddr . oifname @space_routes accept
    # A follower's server to its leader's replication port, across two spaces' data networks.
    iifname "lsd-*" oifname "lsd-*" meta l4proto tcp ip saddr . ip daddr . th dport @data_replication accept
    # A VPN gateway's outer veth: between it and the world (what it accepts is its own
    # firewall's: IKE, NAT-T and ESP to its tunnel addresses), nothing to or from a space.
    iifname "lsx-*" oifname != "ls*" accept
    oifname "lsx-*" iifname != "ls*" accept
    iifname "lsx-*" counter drop
    oifname "lsx-*" counter drop
    iifname ${DYNO_SIDE} ip daddr @allowed_private ${egressMatch} accept
    iifname ${DYNO_SIDE} ip daddr @reserved counter drop
    iifname ${DYNO_SIDE} ${egressMatch} accept
    iifname ${OURS} counter drop
    oifname ${OURS} counter drop
  }

  chain output {
    type filter hook output priority filter; policy accept;
    # Traffic to a VPN gateway turns around on its space's bridge: a redirect would send the
    # dynos to the gateway directly, past this host's forward rules.
    oifname "lsb-*" icmp type redirect drop
    # Data services answer their space's dynos only, never the host (docs/design.md §4): the
    # platform's own clients (readiness, backups) run inside the server's namespace.
    oifname "lsd-*" meta l4proto { tcp, udp } ct state new counter drop
  }

${snatChains.join('')}  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    # A space's own VPN and peer networks see its dynos' own addresses.
    iifname . ip daddr . oifname @space_routes accept
    ${buildSnat}${egressMatch} ip saddr vmap @snat_spaces
  }
}
`
}

/**
 * The per-dyno set: where a dyno's frames enter a space bridge, they must carry its address.
 * A set of `veth . address` pairs, an allow-list: a veth without its element sends nothing.
 * Not a map `veth : address` compared with the source (`ip saddr != iifname map @m`): nft's
 * grammar has no such comparison and the kernel compares a field only with a constant; nor
 * would it be cheaper: with 1,000 elements an `nft -i` add costs the same (0.32 ms p50 for the
 * set, 0.31 for a map, measured side by side).
 */
export const ATTACHMENTS_SET = 'attachments'

const attachmentElement = (a: FirewallAttachment) => `${q(a.veth)} . ${a.address}`

/**
 * Builds on the common build network belong to different owners: no frame of one reaches
 * another. The bridge's forward hook sees only frames from one port to another (frames to the
 * gateway go to the host), and anti-spoofing has proved a build port sends from its own
 * address, so a forwarded frame from the build network's range is one build's to another.
 */
function buildIsolation(net: DesiredBuildNetwork | undefined): string {
  if (!net) return ''
  return `
  chain forward {
    type filter hook forward priority filter; policy accept;
    ether type ip ip saddr ${net.cidr} counter drop
    ether type arp arp saddr ip ${net.cidr} counter drop
  }
`
}

/**
 * A VPN gateway's bridge port sends from its own address and, for the remote networks it
 * carries in, from their routable CIDRs; nothing else.
 */
const gatewaySources = (gateways: readonly DesiredVpnGateway[] = []) =>
  gateways.flatMap((g) => [g.address, ...g.remoteCidrs].map((a) => `${q(g.port)} . ${a}`))

export function renderBridgeTable(state: FirewallState): string {
  return `table bridge ${NFT_TABLE} {
${set(ATTACHMENTS_SET, 'ifname . ipv4_addr', state.attachments.map(attachmentElement))}
${set('gateway_sources', 'ifname . ipv4_addr', gatewaySources(state.vpnGateways), true)}

  chain prerouting {
    type filter hook prerouting priority filter; policy accept;
    iifname { "lsv-*", "lsg-*" } ether type ip6 drop
    iifname "lsv-*" ether type ip iifname . ip saddr != @${ATTACHMENTS_SET} counter drop
    iifname "lsv-*" ether type arp iifname . arp saddr ip != @${ATTACHMENTS_SET} counter drop
    iifname "lsg-*" ether type ip iifname . ip saddr != @gateway_sources counter drop
    iifname "lsg-*" ether type arp iifname . arp saddr ip != @gateway_sources counter drop
  }

${buildIsolation(state.buildNetwork)}}
`
}

/**
 * One nft script that replaces both tables atomically: declaring a table first makes the
 * delete safe when it does not exist yet, and nft applies the file as one transaction.
 */
export function renderFirewall(state: FirewallState): string {
  return [
    `table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
    `table bridge ${NFT_TABLE}`,
    `delete table bridge ${NFT_TABLE}`,
    renderInetTable(state),
    renderBridgeTable(state),
  ].join('\n')
}

/**
 * Everything in `renderFirewall(state)` but the per-dyno elements: every rule, every set's
 * declaration, the per-space and per-setting elements. Two states with the same structure
 * differ only in the `attachments` set.
 */
export const renderStructure = (state: FirewallState): string =>
  renderFirewall({ ...state, attachments: [] })

/** What changed since tables were made from a state: spaces and dynos that came or went. */
export interface FirewallDelta {
  addSpaces?: readonly FirewallSpace[]
  removeSpaces?: readonly FirewallSpace[]
  add?: readonly FirewallAttachment[]
  remove?: readonly FirewallAttachment[]
}

const elementCommand = (verb: string, family: string, name: string, items: readonly string[]) =>
  items.length === 0
    ? []
    : [`${verb} element ${family} ${NFT_TABLE} ${name} { ${items.join(', ')} }`]

/**
 * Turns tables that hold `renderFirewall(from)` into `renderFirewall(to)` when the two states
 * differ only in whole spaces and dynos added or removed (the same settings, and every space
 * in both the same): the commands, to be applied as one transaction (any that fails, such as
 * a `delete` of an element that is not there, fails it whole). A space goes as its elements
 * and its chain (emptied first), and comes as its chain and its elements. Empty when nothing
 * changed (nft refuses an empty `{ }`).
 */
export function renderDelta(delta: FirewallDelta): string[] {
  const { addSpaces = [], removeSpaces = [], add = [], remove = [] } = delta
  const inet = (verb: string, spaces: readonly FirewallSpace[]) =>
    SPACE_SETS.flatMap((name) => elementCommand(verb, 'inet', name, allElements(spaces, name)))
  const chain = (verb: string, s: FirewallSpace) =>
    `${verb} chain inet ${NFT_TABLE} ${snatChain(s)}`
  return [
    ...elementCommand('delete', 'bridge', ATTACHMENTS_SET, remove.map(attachmentElement)),
    ...inet('delete', removeSpaces),
    ...removeSpaces.flatMap((s) => [chain('flush', s), chain('delete', s)]),
    ...addSpaces.flatMap((s) => [
      chain('add', s),
      `add rule inet ${NFT_TABLE} ${snatChain(s)} ${snatStatement(s)}`,
    ]),
    ...inet('add', addSpaces),
    ...elementCommand('add', 'bridge', ATTACHMENTS_SET, add.map(attachmentElement)),
  ]
}

/**
 * One space as its delta adds it: two spaces that render the same here are the same in the
 * tables (the key by which an apply tells a kept space from a changed one).
 */
export const renderSpace = (space: FirewallSpace): string =>
  renderDelta({ addSpaces: [space] }).join('\n')

/** The state's settings alone (no spaces, no dynos): a delta applies only on top of the same. */
export const renderSettings = (state: FirewallState): string =>
  renderFirewall({ ...state, spaces: [], attachments: [] })

/** IKE and NAT-T: all a tunnel address answers (with ESP). */
export const IKE_PORTS = [500, 4500] as const

/**
 * The firewall inside a VPN gateway's namespace (one table, the namespace's only one): its
 * tunnel addresses on `ext0` answer IKE, NAT-T and ESP and nothing else; what comes out of
 * the tunnels (decrypted: on charon's `ipsec0`, or on `ext0` with an IPsec secpath when the
 * kernel does ESP) from the remote CIDRs reaches the internal router (80, 443), the DNS
 * server (53) and the dynos (any port) of the space, nothing else (never the data network,
 * the host, another space, the world); the space sends into the tunnels only to the remote
 * CIDRs. Replaces the table whole, in one transaction.
 */
export function renderGatewayFirewall(g: DesiredVpnGateway): string {
  const services = [
    ...INTERNAL_ROUTER_PORTS.map((p) => `${g.internalRouter} . tcp . ${p}`),
    ...(['udp', 'tcp'] as const).map((proto) => `${g.dns} . ${proto} . ${DNS_PORT}`),
  ]
  return `table inet ${NFT_TABLE}
delete table inet ${NFT_TABLE}
table inet ${NFT_TABLE} {
${set('tunnel', 'ipv4_addr', g.tunnelAddresses)}
${set('remote', 'ipv4_addr', g.remoteCidrs, true)}

  chain input {
    type filter hook input priority filter; policy drop;
    iif "lo" accept
    ct state established,related accept
    iifname "ext0" ip daddr @tunnel udp dport { ${IKE_PORTS.join(', ')} } accept
    iifname "ext0" ip daddr @tunnel meta l4proto esp accept
  }

  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "eth0" ip saddr ${g.cidr} ip daddr @remote accept
    iifname "eth0" counter drop
    # Only what IPsec decrypted comes in from the outer side.
    iifname "ext0" meta secpath missing counter drop
    ip saddr @remote jump from_remote
    counter drop
  }

  chain from_remote {
    ip daddr . meta l4proto . th dport { ${services.join(', ')} } accept
    ip daddr { ${g.dynoRanges.join(', ')} } accept
    counter drop
  }
}
`
}
