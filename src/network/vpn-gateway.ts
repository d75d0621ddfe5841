/**
 * VPN gateways and the spaces' own routes (docs/design.md §3, §4, §7), in the reconciler's
 * shape: observe → plan (pure) → apply; reconcile.ts runs it after the bridges exist and
 * verifies both plans empty.
 *
 * A space with a VPN has a gateway namespace `lsg-<8hex>`: `eth0` on the space's dyno bridge at
 * C.0.4, `ext0` (host end `lsx-<8hex>`) with the space's tunnel addresses, a default route to
 * the host over `ext0`, forwarding on, and a firewall of its own (nft/render.ts
 * `renderGatewayFirewall`). charon (src/vpn) runs in it and adds the tunnel routes. On the
 * host:
 * - each tunnel address is routed into `lsx-<8hex>` and answered for by proxy ARP on the
 *   egress interface, so the world reaches it there;
 * - each space with a VPN or peer networks has a routing table of its own, chosen by source
 *   (`from C lookup T`): its remote CIDRs via C.0.4, its peer networks' CIDRs via their
 *   interfaces. By source, because two spaces may use the same remote CIDRs, and because the
 *   host's own answers from C.0.1 (DNS) and C.0.3 (internal router) must go back the same way.
 *
 * Ownership: routes and rules carry protocol 108 (names.ts ROUTE_PROTO), proxy entries are
 * ours inside the operator's VPN pools; leftovers are deleted. Gateway namespaces and links
 * that are not desired are swept by planHost with the other owned names.
 */
import { spaceAddresses } from '../core/address-plan.js'
import { containsAddress, formatCidr } from '../core/cidr.js'
import { InvalidNetworkStateError, NetworkConflictError } from './errors.js'
import {
  dynoBridgeName,
  macFor,
  spaceRouteTable,
  vpnGatewayExtName,
  vpnGatewayNetnsName,
  vpnGatewayPortName,
} from './names.js'
import { renderGatewayFirewall } from './nft/render.js'
import type { DesiredHost, DesiredVpnGateway, ObservedAddress, ObservedHost } from './types.js'
import { checkCidr, checkIpv4, checkPeerNetwork, checkVpnGateway } from './validate.js'
import type {
  ObservedGateway,
  ObservedVpn,
  OwnedRoute,
  OwnedRule,
  ProxyEntry,
} from './vpn-observe.js'

/**
 * The host end of every gateway's `ext0` carries this /32: the gateways' default route.
 * Link-local, so it is never routed anywhere; the same on every such veth.
 */
export const GATEWAY_LINK_ADDRESS = '169.254.0.1'

/** A space's VPN gateway, from what the store knows of the space and its connections. */
export function desiredVpnGateway(
  space: { id: string; cidr: string; dataCidr: string },
  tunnelAddresses: readonly string[],
  remoteCidrs: readonly string[],
): DesiredVpnGateway {
  const plan = spaceAddresses(space.cidr, space.dataCidr)
  return {
    netns: vpnGatewayNetnsName(space.id),
    port: vpnGatewayPortName(space.id),
    ext: vpnGatewayExtName(space.id),
    dynoBridge: dynoBridgeName(space.id),
    cidr: space.cidr,
    address: plan.vpnGateway,
    dns: plan.gateway,
    internalRouter: plan.internalRouter,
    dynoRanges: plan.dynoRanges.map(formatCidr),
    tunnelAddresses,
    remoteCidrs,
  }
}

/**
 * What this process last put in each gateway's firewall and read back: the reference that
 * tells drift from a table as rendered (nft lists a table differently from how it was
 * written). Kept by the caller across reconciles; empty after a restart, so the first
 * reconcile replaces each table once (atomically).
 */
export type GatewayFirewalls = Map<string, { rendered: string; listing: string }>

export type VpnAction =
  /** Make what is missing of a gateway: its namespace and/or veths (stale host ends first). */
  | {
      kind: 'gateway.make'
      gateway: DesiredVpnGateway
      netns: boolean
      port: boolean
      ext: boolean
      stale: readonly string[]
    }
  /** The host ends: `eth0`'s on the bridge and up, `ext0`'s up with GATEWAY_LINK_ADDRESS. */
  | { kind: 'gateway.plug'; gateway: DesiredVpnGateway }
  /** Addresses, MAC, links and default route inside, replaced; extra addresses removed. */
  | {
      kind: 'gateway.inside'
      gateway: DesiredVpnGateway
      remove: ReadonlyArray<ObservedAddress & { dev: string }>
      reason: string
    }
  /** Its firewall replaced whole, then forwarding turned on. */
  | { kind: 'gateway.firewall'; gateway: DesiredVpnGateway; reason: string }
  | { kind: 'route.add' | 'route.delete'; route: OwnedRoute }
  | { kind: 'rule.add' | 'rule.delete'; rule: OwnedRule }
  | { kind: 'proxy.add' | 'proxy.delete'; proxy: ProxyEntry }

// Plan

const routeKey = (r: OwnedRoute) => `${r.table} ${r.dst} ${r.via ?? '-'} ${r.dev}`
const ruleKey = (r: OwnedRule) => `${r.from} ${r.table}`
const proxyKey = (p: ProxyEntry) => `${p.dev} ${p.address}`

/** The routes, rules and proxy entries the desired state asks for; checks it. */
function wantedRouting(desired: DesiredHost) {
  const gateways = desired.vpnGateways ?? []
  const peers = desired.peerNetworks ?? []
  const spaces = new Map(desired.spaces.map((s) => [s.dynoBridge, s]))
  const routes: OwnedRoute[] = []
  const rules = new Map<string, OwnedRule>()
  const inSpace = (bridge: string, what: string) => {
    const space = spaces.get(bridge)
    if (!space)
      throw new InvalidNetworkStateError(`${what} is on ${bridge}, which no desired space has`)
    const rule = { from: space.cidr, table: spaceRouteTable(bridge) }
    rules.set(ruleKey(rule), rule)
    return rule.table
  }
  for (const g of gateways) {
    checkVpnGateway(g)
    const table = inSpace(g.dynoBridge, `gateway ${g.netns}`)
    for (const address of g.tunnelAddresses) {
      routes.push({ table: 'main', dst: `${address}/32`, dev: g.ext })
    }
    for (const c of g.remoteCidrs) {
      routes.push({ table, dst: checkCidrText(c), dev: g.dynoBridge, via: g.address })
    }
  }
  for (const p of peers) {
    checkPeerNetwork(p)
    const table = inSpace(p.dynoBridge, `the peer network on ${p.iface}`)
    for (const c of p.cidrs) {
      const route: OwnedRoute = { table, dst: checkCidrText(c), dev: p.iface }
      if (p.gateway !== undefined) route.via = p.gateway
      routes.push(route)
    }
  }
  // A table has one route per destination: the same one twice is a desired state the store
  // should have refused (overlapping CIDRs of one space).
  const seen = new Set<string>()
  for (const r of routes) {
    const key = `${r.table} ${r.dst}`
    if (seen.has(key)) throw new InvalidNetworkStateError(`route ${key} is desired twice`)
    seen.add(key)
  }
  const proxies: ProxyEntry[] = []
  const iface = desired.vpnPool?.iface
  if (iface !== undefined) {
    for (const g of gateways) {
      for (const address of g.tunnelAddresses) proxies.push({ dev: iface, address })
    }
  }
  return { routes, rules: [...rules.values()], proxies }
}

const checkCidrText = (text: string) => formatCidr(checkCidr(text, 'cidr'))

/** Why the inside of a gateway differs from desired, and its addresses that must go. */
function insideDamage(g: DesiredVpnGateway, seen: ObservedGateway, prefix: number) {
  const link = (name: string) => seen.links.find((l) => l.name === name)
  const eth0 = link('eth0')
  const ext0 = link('ext0')
  const lo = link('lo')
  const wanted = new Map<string, ObservedAddress[]>([
    ['eth0', [{ address: g.address, prefix }]],
    ['ext0', g.tunnelAddresses.map((address) => ({ address, prefix: 32 }))],
  ])
  const remove: Array<ObservedAddress & { dev: string }> = []
  const reasons: string[] = []
  for (const [dev, addresses] of wanted) {
    const l = link(dev)
    if (!l) continue
    for (const a of l.addresses) {
      if (!addresses.some((w) => w.address === a.address && w.prefix === a.prefix)) {
        remove.push({ dev, ...a })
        reasons.push(`${dev} has ${a.address}/${a.prefix}`)
      }
    }
    for (const w of addresses) {
      if (!l.addresses.some((a) => a.address === w.address && a.prefix === w.prefix)) {
        reasons.push(`${dev} lacks ${w.address}/${w.prefix}`)
      }
    }
  }
  if (!eth0?.up || !ext0?.up || !lo?.up) reasons.push('a link inside is down')
  if (eth0 && eth0.mac !== macFor(g.address)) reasons.push('eth0 has lost its fixed MAC address')
  const route = seen.defaultRoute
  if (route?.via !== GATEWAY_LINK_ADDRESS || route.dev !== 'ext0') {
    reasons.push('the default route is not via ext0')
  }
  return { remove, reason: reasons.join(', ') }
}

/**
 * Plans the gateways, routes, rules and proxy entries. Pure; [] when the host matches.
 * Throws NetworkConflictError when a foreign object holds a gateway's link name,
 * InvalidNetworkStateError on desired state it will not act on.
 */
export function planVpn(
  desired: DesiredHost,
  host: ObservedHost,
  vpn: ObservedVpn,
  firewalls: GatewayFirewalls,
): VpnAction[] {
  const wanted = wantedRouting(desired)
  const links = new Map(host.links.map((l) => [l.name, l]))
  const netns = new Set(host.netns)
  const gateways = desired.vpnGateways ?? []
  for (const g of gateways) {
    for (const name of [g.port, g.ext]) {
      const link = links.get(name)
      if (link && link.kind !== 'veth') {
        throw new NetworkConflictError(name, `is a ${link.kind ?? 'plain device'}, not a veth`)
      }
    }
  }

  const teardown: VpnAction[] = []
  const build: VpnAction[] = []
  const firewall: VpnAction[] = []
  const inside: VpnAction[] = []
  const add: VpnAction[] = []

  for (const g of gateways) {
    const port = links.get(g.port)
    const ext = links.get(g.ext)
    const prefix = checkVpnGateway(g).prefix
    const made = !netns.has(g.netns) || !port || !ext
    if (!netns.has(g.netns)) {
      // A host end without its namespace is half a veth pair that leads nowhere.
      const stale = [port, ext].filter((l) => l !== undefined).map((l) => l.name)
      build.push({ kind: 'gateway.make', gateway: g, netns: true, port: true, ext: true, stale })
    } else if (!port || !ext) {
      build.push({
        kind: 'gateway.make',
        gateway: g,
        netns: false,
        port: !port,
        ext: !ext,
        stale: [],
      })
    }
    const hostEndsRight =
      port?.master === g.dynoBridge &&
      port.up &&
      ext?.up === true &&
      ext.addresses.some((a) => a.address === GATEWAY_LINK_ADDRESS && a.prefix === 32)
    if (made || !hostEndsRight) build.push({ kind: 'gateway.plug', gateway: g })

    const seen = made ? undefined : vpn.gateways.get(g.netns)
    const damage = seen ? insideDamage(g, seen, prefix) : { remove: [], reason: 'new' }
    if (damage.reason !== '') {
      inside.push({
        kind: 'gateway.inside',
        gateway: g,
        remove: damage.remove,
        reason: damage.reason,
      })
    }
    const rendered = renderGatewayFirewall(g)
    const applied = firewalls.get(g.netns)
    const why =
      seen?.firewall === undefined
        ? 'missing'
        : applied === undefined
          ? 'not applied by this daemon yet'
          : applied.rendered !== rendered
            ? 'changed'
            : applied.listing !== seen.firewall
              ? 'changed by hand'
              : undefined
    if (why) firewall.push({ kind: 'gateway.firewall', gateway: g, reason: why })
  }

  const diff = <T>(
    have: readonly T[],
    want: readonly T[],
    key: (x: T) => string,
    owned: (x: T) => boolean = () => true,
  ) => {
    const wantKeys = new Set(want.map(key))
    const haveKeys = new Set(have.map(key))
    return {
      gone: have.filter((x) => owned(x) && !wantKeys.has(key(x))),
      missing: want.filter((x) => !haveKeys.has(key(x))),
    }
  }
  const routes = diff(vpn.routes, wanted.routes, routeKey)
  const rules = diff(vpn.rules, wanted.rules, ruleKey)
  const pools = (desired.vpnPool?.poolCidrs ?? []).map((c) => checkCidr(c, 'vpn pool'))
  const inPool = (p: ProxyEntry) => {
    const n = checkIpv4(p.address, 'proxy address')
    return pools.some((pool) => containsAddress(pool, n))
  }
  const proxies = diff(vpn.proxies, wanted.proxies, proxyKey, inPool)
  teardown.push(
    ...routes.gone.map((route): VpnAction => ({ kind: 'route.delete', route })),
    ...rules.gone.map((rule): VpnAction => ({ kind: 'rule.delete', rule })),
    ...proxies.gone.map((proxy): VpnAction => ({ kind: 'proxy.delete', proxy })),
  )
  add.push(
    ...routes.missing.map((route): VpnAction => ({ kind: 'route.add', route })),
    ...rules.missing.map((rule): VpnAction => ({ kind: 'rule.add', rule })),
    ...proxies.missing.map((proxy): VpnAction => ({ kind: 'proxy.add', proxy })),
  )
  return [...teardown, ...build, ...firewall, ...inside, ...add]
}
